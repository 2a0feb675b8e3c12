"""Build the gate's :class:`GateContext` from the session, the running flow and fresh core facts.

The gate never calls the core bank itself; the dialog fetches what the rules need right before
each checkpoint: the card's status here, and what only one transaction needs (today's usage, the
last 24 hours of transfers, the balance) through its plug-in's ``core_facts``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from vtm.banking.errors import CoreBankingError
from vtm.compliance.context import CoreFacts, GateContext, Identity, SessionFacts, Slots
from vtm.dialog.plugins import plugin_for
from vtm.dialog.session import Session
from vtm.flows.machine import Flow

if TYPE_CHECKING:
    from vtm.dialog.context import TurnContext

__all__ = ["build_context", "session_facts"]


def session_facts(session: Session, now: datetime) -> SessionFacts:
    """What the gate knows of the session itself (every checkpoint's context starts from it)."""
    return SessionFacts(
        session_id=session.session_id, kiosk_id=session.kiosk_id, language=session.lang,
        started_at=session.started_at, last_activity_at=session.last_activity_at, now=now,
        # The screen's elderly mode may be switched off; what the bank knows of the customer may not.
        elderly=session.elderly or (session.customer is not None and session.customer.elderly),
        age=_age(session, now),
        recent_utterances=tuple(session.recent_utterances),
        heard=dict(session.heard), acknowledged=frozenset(session.acknowledged),
        consents=frozenset(session.consents),
    )


def build_context(ctx: TurnContext, flow: Flow) -> GateContext:
    plugin = plugin_for(flow.name)
    card = plugin.card(ctx, flow)
    facts: dict[str, Any] = {}
    try:
        if card:
            info = ctx.core.card_status(card)
            facts.update(card_status=info.status, pin_locked=info.pin_locked,
                         failed_pin_attempts=info.failed_pin_attempts)
        facts.update(plugin.core_facts(ctx, flow))
    except CoreBankingError:
        pass  # missing facts make the rules that need them stricter, never laxer
    session, f = ctx.session, flow.facts
    return GateContext(
        session=session_facts(session, ctx.now()),
        identity=Identity(customer_id=session.customer_id, factors=frozenset(session.factors)),
        transaction=flow.name,
        slots=Slots(card_number=card, confirmed_at=f.get("confirmed_at"), confirmation=f.get("confirmation"),
                    requested_factor=f.get("requested_factor"), **f.get("answers", {}),
                    **plugin.gate_slots(ctx, flow)),
        core=CoreFacts(**facts),
    )


def _age(session: Session, now: datetime) -> int | None:
    if session.customer is None:
        return None
    born = session.customer.birth_date
    return now.year - born.year - ((now.month, now.day) < (born.month, born.day))

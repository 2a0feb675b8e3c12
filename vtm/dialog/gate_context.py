"""Build the gate's :class:`GateContext` from the session, the running flow and fresh core facts.

The gate never calls the core bank itself; the dialog fetches what the rules need (card status,
today's usage, the last 24 hours of transfers, the balance) right before each checkpoint.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from vtm.banking.errors import CoreBankingError
from vtm.banking.models import Arrival, Channel, LossKind
from vtm.banking.port import CoreBanking
from vtm.compliance.context import (
    CoreFacts,
    GateContext,
    Identity,
    RecentTransfer,
    SessionFacts,
    Slots,
)
from vtm.dialog.session import Session
from vtm.flows.machine import Flow

__all__ = ["build_context", "own_account", "session_facts"]


def own_account(session: Session, core: CoreBanking) -> str | None:
    """The account behind the inserted card (the source of transfers, statements and balances)."""
    if session.card_number is None:
        return None
    try:
        return core.card_status(session.card_number).account_number
    except CoreBankingError:
        return None


def _slots(flow: Flow, session: Session, from_account: str | None) -> Slots:
    s, f = flow.slots, flow.facts
    period = s.get("date_range")
    check = f.get("payee_check")
    transfer = flow.name == "transfer"
    values: dict[str, Any] = {
        "amount": s.get("amount"),
        "from_account": from_account if transfer else (s.get("account_number") or from_account),
        "card_number": s.get("card_number") or session.card_number,
        "payee_account": s.get("account_number") if transfer else None,
        "payee_name": s.get("payee_name"),
        "payee_bank": check.bank if check is not None else s.get("payee_bank"),
        "payee_own_same_bank": bool(check is not None and check.own_account and check.same_bank),
        "new_payee": transfer and f.get("saved_payee") is None,
        "payee_confirmed_at": f.get("payee_validated_at"),
        "arrival": Arrival(s["arrival"]) if s.get("arrival") else None,
        "arrival_chosen_at": f.get("arrival_chosen_at"),
        "confirmed_at": f.get("confirmed_at"),
        "confirmation": f.get("confirmation"),
        "period_start": period[0] if period else None,
        "period_end": period[1] if period else None,
        "loss_kind": LossKind(s["loss_kind"]) if s.get("loss_kind") else None,
        "reference": s.get("transfer_ref"),
        "requested_factor": f.get("requested_factor"),
    }
    return Slots(**values)


def _core_facts(flow: Flow, session: Session, core: CoreBanking, now: datetime,
                from_account: str | None) -> CoreFacts:
    facts: dict[str, Any] = {}
    card = flow.slots.get("card_number") or session.card_number
    try:
        if card:
            info = core.card_status(card)
            facts.update(card_status=info.status, pin_locked=info.pin_locked,
                         failed_pin_attempts=info.failed_pin_attempts)
        if flow.name == "transfer" and session.customer_id:
            usage = core.daily_usage(session.customer_id, Channel.KIOSK, now.date())
            facts.update(daily_transferred=usage.transferred, daily_transfer_count=usage.transfer_count)
            if from_account:
                since = now - timedelta(hours=24)
                postings = core.history(from_account, since.date(), now.date())
                facts["recent_transfers"] = tuple(
                    RecentTransfer(at=p.booked_at, amount=-p.amount, to_account=None)
                    for p in postings if p.amount < 0 and p.booked_at >= since and "transfer" in p.description.lower()
                )
                facts["balance"] = core.balance(from_account).available
    except CoreBankingError:
        pass  # missing facts make the rules that need them stricter, never laxer
    return CoreFacts(**facts)


def session_facts(session: Session, now: datetime) -> SessionFacts:
    """What the gate knows of the session itself (every checkpoint's context starts from it)."""
    return SessionFacts(
        session_id=session.session_id, kiosk_id=session.kiosk_id, language=session.lang,
        started_at=session.started_at, last_activity_at=session.last_activity_at, now=now,
        elderly=session.elderly,
        age=_age(session, now),
        recent_utterances=tuple(session.recent_utterances),
        heard=dict(session.heard), acknowledged=frozenset(session.acknowledged),
        consents=frozenset(session.consents),
    )


def build_context(session: Session, flow: Flow, core: CoreBanking, now: datetime) -> GateContext:
    from_account = own_account(session, core)
    return GateContext(
        session=session_facts(session, now),
        identity=Identity(customer_id=session.customer_id, factors=frozenset(session.factors)),
        transaction=flow.name,
        slots=_slots(flow, session, from_account),
        core=_core_facts(flow, session, core, now, from_account),
    )


def _age(session: Session, now: datetime) -> int | None:
    if session.customer is None:
        return None
    born = session.customer.birth_date
    return now.year - born.year - ((now.month, now.day) < (born.month, born.day))


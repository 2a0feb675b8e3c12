"""Revocation (撤销转账): the plug-in of ``transactions/revoke_transfer.yaml``: a delayed transfer of this
visit, or of an earlier one once the customer is known, revoked at the core until it executes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vtm.banking.errors import CoreBankingError, NotRevocable
from vtm.common.masking import mask_card
from vtm.compliance.verdict import Permit
from vtm.dialog.plugins import TransactionPlugin
from vtm.dialog.plugins._shared import core_failure, journalled
from vtm.dialog.speakable import amount_words, say_datetime
from vtm.flows.definition import Trigger
from vtm.flows.machine import Flow

if TYPE_CHECKING:
    from vtm.dialog.context import TurnContext

__all__ = ["PLUGIN"]


def revoke_transfer(ctx: TurnContext, flow: Flow, permit: Permit | None) -> str:
    reference = str(flow.slots["transfer_ref"])
    key = flow.facts.setdefault("revoke_key", ctx.session.next_key("revoke_transfer"))
    try:
        result = journalled(ctx, "revoke_transfer", key, {"reference": reference},
                            lambda: ctx.guarded.revoke_transfer(reference, key, permit=permit))
    except CoreBankingError as exc:
        return core_failure(ctx, exc, {NotRevocable: "revoke.not_revocable"})
    session = ctx.session
    session.delayed_transfers = [t for t in session.delayed_transfers if t["reference"] != reference]
    ctx.say("revoke.done", amount_words=amount_words(result.refunded, session.lang))
    return Trigger.PROCEED


def _last_delayed_transfer(ctx: TurnContext) -> str | None:
    """The newest delayed transfer of this visit, or of earlier visits once the customer is known."""
    session = ctx.session
    if not session.delayed_transfers and session.customer_id is not None:
        try:
            found = ctx.core.pending_transfers(session.customer_id)
        except CoreBankingError:
            found = []
        session.delayed_transfers = [
            {"reference": t.reference, "amount": t.amount, "execute_at": t.execute_at, "to_account": t.to_account}
            for t in found if t.execute_at is not None
        ]
    return session.delayed_transfers[-1]["reference"] if session.delayed_transfers else None


def _read_back(ctx: TurnContext, flow: Flow) -> dict[str, Any]:
    reference = flow.slots.get("transfer_ref")
    pending = next((t for t in ctx.session.delayed_transfers if t["reference"] == reference), None)
    if pending is None:
        return {}
    return dict(amount_words=amount_words(pending["amount"], ctx.session.lang),
                execute_at=say_datetime(ctx.local(pending["execute_at"]), ctx.session.lang),
                account=mask_card(pending["to_account"]))


def _gate_slots(ctx: TurnContext, flow: Flow) -> dict[str, Any]:
    return dict(from_account=ctx.own_account(), reference=flow.slots.get("transfer_ref"))


PLUGIN = TransactionPlugin(
    name="revoke_transfer", operations={"revoke_transfer": revoke_transfer},
    gate_slots=_gate_slots, read_back=_read_back,
    session_facts={"last_delayed_transfer": _last_delayed_transfer},
)

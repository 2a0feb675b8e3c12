"""Balance (余额查询): the plug-in of ``transactions/balance.yaml``: spoken and shown after card and PIN."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vtm.banking.errors import CoreBankingError
from vtm.compliance.verdict import Permit
from vtm.dialog.plugins import TransactionPlugin
from vtm.dialog.plugins._shared import core_failure
from vtm.dialog.speakable import money_text
from vtm.flows.definition import Trigger
from vtm.flows.machine import Flow

if TYPE_CHECKING:
    from vtm.dialog.context import TurnContext

__all__ = ["PLUGIN"]


def balance(ctx: TurnContext, flow: Flow, _: Permit | None) -> str:
    account = str(flow.slots["account_number"])
    try:
        bal = ctx.core.balance(account)
    except CoreBankingError as exc:
        return core_failure(ctx, exc)
    lang = ctx.session.lang
    ctx.say("balance.done", last4=account[-4:], balance=money_text(bal.balance, lang),
            available=money_text(bal.available, lang))
    ctx.record_operation("balance", None, "shown")
    return Trigger.PROCEED


def _gate_slots(ctx: TurnContext, flow: Flow) -> dict[str, Any]:
    return dict(from_account=flow.slots.get("account_number") or ctx.own_account())


PLUGIN = TransactionPlugin(name="balance", operations={"balance": balance}, gate_slots=_gate_slots)

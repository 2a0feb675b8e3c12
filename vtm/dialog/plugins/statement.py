"""Statement (打印流水): the plug-in of ``transactions/statement.yaml``: a period (capped by the gate), a
delivery (printed at the kiosk, on screen, or to the e-mail on file) and a spoken summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vtm.banking.errors import CoreBankingError
from vtm.common.masking import mask_email
from vtm.compliance.verdict import Permit
from vtm.dialog.actions import PrintDocument
from vtm.dialog.plugins import TransactionPlugin
from vtm.dialog.plugins._shared import core_failure
from vtm.dialog.speakable import money_text, say_date
from vtm.flows.definition import Trigger
from vtm.flows.machine import Flow

if TYPE_CHECKING:
    from vtm.dialog.context import TurnContext

__all__ = ["PLUGIN"]


def statement(ctx: TurnContext, flow: Flow, _: Permit | None) -> str:
    start, end = flow.slots["date_range"]
    delivery = str(flow.slots["delivery"])
    account = str(flow.slots["account_number"])
    email = ctx.customer_email()
    if delivery == "email" and not email:
        ctx.say("statement.no_email")
        flow.slots["delivery"] = None
        return Trigger.REJECT if flow.can_fire(Trigger.REJECT) else Trigger.FAIL
    try:
        doc = ctx.core.statement(account, start, end)
    except CoreBankingError as exc:
        return core_failure(ctx, exc)
    lang = ctx.session.lang
    if delivery == "print":
        ctx.act(PrintDocument("print_statement", f"statement-{account[-4:]}-{start}-{end}.pdf", doc.pdf))
    else:
        ctx.record_operation(f"statement_{delivery}", None, doc.verification_code)
    delivery_text = ctx.render(f"statement.delivery.{delivery}", email=mask_email(email) if email else "")
    ctx.say("statement.done", delivery_text=delivery_text, start=say_date(start, lang), end=say_date(end, lang),
            count=doc.posting_count, closing=money_text(doc.closing_balance, lang))
    flow.facts["statement"] = {"verification_code": doc.verification_code, "postings": doc.posting_count}
    return Trigger.PROCEED


def _gate_slots(ctx: TurnContext, flow: Flow) -> dict[str, Any]:
    period = flow.slots.get("date_range")
    return dict(from_account=flow.slots.get("account_number") or ctx.own_account(),
                period_start=period[0] if period else None, period_end=period[1] if period else None)


def _ask_values(ctx: TurnContext, flow: Flow) -> dict[str, Any]:
    offered = "delivery" in flow.missing_slots() and ctx.customer_email()
    return dict(email_option=ctx.render("statement.email_option") if offered else "")  # only with an email on file


PLUGIN = TransactionPlugin(name="statement", operations={"statement": statement},
                           gate_slots=_gate_slots, ask_values=_ask_values)

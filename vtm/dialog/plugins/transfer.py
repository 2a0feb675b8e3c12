"""Transfer (转账): the plug-in of ``transactions/transfer.yaml``.

The payee is validated at the core (the name must match the account); a saved payee is found by
name (pinyin too) once the customer is known; own accounts at this bank arrive at once, others
after 24 hours unless the gate allows real time; the read-back masks the account and speaks the
amount; the posting is journalled and, when its outcome is unknown, asked for by key, never re-posted.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from vtm.banking.errors import CoreBankingError, InsufficientFunds, LimitExceeded, OutcomeUnknown
from vtm.banking.models import Arrival, Channel, TransferRequest, TransferResult, TransferStatus
from vtm.common.masking import mask_card, mask_name
from vtm.compliance.context import AuthFactor, RecentTransfer
from vtm.compliance.verdict import Permit
from vtm.dialog.actions import PrintReceipt
from vtm.dialog.plugins import TransactionPlugin
from vtm.dialog.plugins._payees import OWN_BANK, guess_bare_name, resolve_saved_payee
from vtm.dialog.plugins._shared import core_failure, journalled
from vtm.dialog.speakable import amount_words, say_datetime
from vtm.flows.machine import Flow
from vtm.nlu.entities import payee_name_in_answer
from vtm.nlu.types import NluResult, SlotName

if TYPE_CHECKING:
    from vtm.dialog.context import TurnContext
    from vtm.dialog.problems import Problem

__all__ = ["PLUGIN"]

_FAILURES = {InsufficientFunds: "transfer.insufficient_funds", LimitExceeded: "transfer.limit_exceeded"}
_PAYEE_SLOTS = ("payee_name", "account_number", "payee_bank")


# Guards ------------------------------------------------------------------------------------------
def _payee_resolved(flow: Flow) -> bool:
    return bool(flow.slots.get("account_number")) and bool(flow.slots.get("payee_bank"))


def _payee_needs_validation(flow: Flow) -> bool:
    return flow.facts.get("validated_payee") != tuple(flow.slots.get(s) for s in _PAYEE_SLOTS)


def _own_same_bank(flow: Flow) -> bool:
    check = flow.facts.get("payee_check")
    return bool(check is not None and check.own_account and check.same_bank)


def _arrival_choice_needed(flow: Flow) -> bool:
    # Own accounts at the same bank arrive at once; everyone else gets the 24-hour rule and a choice.
    return not _own_same_bank(flow) and not flow.slots.get("arrival")


# Operations --------------------------------------------------------------------------------------
def validate_payee(ctx: TurnContext, flow: Flow, _: Permit | None) -> str:
    s = flow.slots
    bank = None if s.get("payee_bank") in (None, OWN_BANK) else str(s["payee_bank"])
    try:
        check = ctx.core.validate_payee(str(s["account_number"]), str(s["payee_name"]), bank)
    except CoreBankingError as exc:
        return core_failure(ctx, exc, _FAILURES)
    if not check.exists or not check.name_matches:
        # Ask again only for what is wrong: the account when there is no such account, else the name.
        ctx.say("transfer.payee_unknown" if not check.exists else "transfer.payee_mismatch")
        s["account_number" if not check.exists else "payee_name"] = None
        flow.facts.pop("saved_payee", None)
        return "reject"
    flow.facts.update(payee_check=check, validated_payee=tuple(s.get(n) for n in _PAYEE_SLOTS),
                      payee_validated_at=ctx.now())
    if check.own_account and check.same_bank:
        s["arrival"] = Arrival.REALTIME.value  # own accounts at this bank arrive at once (no 24 h rule)
    if flow.facts.get("saved_payee") is not None:
        ctx.say("transfer.payee_found", payee_name=mask_name(str(s["payee_name"])), bank=check.bank,
                account=mask_card(str(s["account_number"])))
    return "proceed"


def _transfer_key(ctx: TurnContext, flow: Flow) -> str:
    """The idempotency key of this flow's transfer, fixed at its first checkpoint and kept in the flow
    (and so in the saved session), so that a turn played again after a crash asks for the same one."""
    key: str = flow.facts.setdefault("transfer_key", ctx.session.next_key("transfer"))
    return key


def transfer(ctx: TurnContext, flow: Flow, permit: Permit | None) -> str:
    s, check = flow.slots, flow.facts["payee_check"]
    key = _transfer_key(ctx, flow)
    request = TransferRequest(
        idempotency_key=key, from_account=ctx.own_account_required(), to_account=str(s["account_number"]),
        payee_name=str(s["payee_name"]), payee_bank=check.bank, amount=Decimal(s["amount"]),
        arrival=Arrival(s.get("arrival") or Arrival.DELAYED.value),
    )
    try:
        result = journalled(ctx, "transfer", key, request.model_dump(mode="json"),
                            lambda: ctx.guarded.transfer(request, permit=permit))
    except OutcomeUnknown as exc:
        found = _status_after_unknown(ctx, key)
        if found is None:
            return core_failure(ctx, exc, _FAILURES)
        result = found
    except CoreBankingError as exc:
        return core_failure(ctx, exc, _FAILURES)
    flow.facts["transfer"] = result
    ctx.session.factors.discard(AuthFactor.PIN_RECONFIRMED)  # a second large transfer asks again
    words = amount_words(result.amount, ctx.session.lang)
    if result.status is TransferStatus.DELAYED and result.execute_at is not None:
        ctx.session.delayed_transfers.append({"reference": result.reference, "amount": result.amount,
                                              "execute_at": result.execute_at, "to_account": result.to_account})
        ctx.say("transfer.done_delayed", amount_words=words, reference=result.reference,
                execute_at=say_datetime(ctx.local(result.execute_at), ctx.session.lang))
    elif result.status is TransferStatus.POSTED:
        ctx.say("transfer.done_posted", amount_words=words, reference=result.reference)
    else:
        ctx.say("error.generic")
        return "fail"
    return "proceed"


def _status_after_unknown(ctx: TurnContext, key: str) -> TransferResult | None:
    """The outcome is unknown: ask the core by key before anything else; never re-post."""
    try:
        found = ctx.core.transfer_status(key)
    except CoreBankingError:
        return None
    if found is not None:
        from vtm.audit.journal_model import JournalStatus

        ctx.services.journal.finish(key, JournalStatus.DONE, found.model_dump(mode="json"))
        ctx.record_operation("transfer_status", key, found.status.value)
    return found


def print_receipt(ctx: TurnContext, flow: Flow, _: Permit | None) -> str:
    result: TransferResult = flow.facts["transfer"]
    text = ctx.render("transfer.receipt", reference=result.reference,
                      payee_name=mask_name(str(flow.slots["payee_name"])), account=mask_card(result.to_account),
                      amount=f"{result.amount:,}", status=result.status.value)
    lines = tuple(text.split("  ")) if "  " in text else (text,)
    ctx.act(PrintReceipt("print_receipt", lines, ctx.session.lang))
    ctx.say("transfer.receipt_printed")
    return "proceed"


# Slots, the gate and the read-back -------------------------------------------------------------------
def _resolve(ctx: TurnContext, flow: Flow, _nlu: NluResult, filled: list[str]) -> list[Problem]:
    if "payee_name" in filled:
        resolve_saved_payee(ctx, flow)
    if set(filled) & set(_PAYEE_SLOTS):
        flow.facts.pop("validated_payee", None)
        flow.facts.pop("answers", None)  # what the money is for was said of the other payee: the gate asks again
    return []


def _prefill(ctx: TurnContext, flow: Flow) -> None:
    name = flow.slots.get("payee_name")
    if name and not flow.slots.get("account_number") and flow.facts.get("payee_lookup_for") != name:
        resolve_saved_payee(ctx, flow)


def _this_bank(ctx: TurnContext, flow: Flow, text: str) -> dict[str, Any]:
    if "payee_bank" in flow.missing_slots() and ctx.phrases.matches("own_bank", text):
        return {"payee_bank": OWN_BANK}
    return {}


def _bare_name(ctx: TurnContext, flow: Flow, text: str) -> dict[str, Any]:
    missing = flow.missing_slots()
    if not missing or missing[0] != "payee_name":
        return {}
    name = guess_bare_name(text) if missing == ["payee_name"] else None
    # asked "who is it for?": "王建国 我们装修的师傅", "zhang wei my colleague" (a remark around the name)
    name = name or payee_name_in_answer(text, ctx.session.lang)
    return {"payee_name": name} if name else {}


def _gate_slots(ctx: TurnContext, flow: Flow) -> dict[str, Any]:
    s, f = flow.slots, flow.facts
    check = f.get("payee_check")
    return dict(
        amount=s.get("amount"), from_account=ctx.own_account(), payee_account=s.get("account_number"),
        payee_name=s.get("payee_name"), payee_bank=check.bank if check is not None else s.get("payee_bank"),
        payee_own_same_bank=_own_same_bank(flow), new_payee=f.get("saved_payee") is None,
        payee_confirmed_at=f.get("payee_validated_at"),
        arrival=Arrival(s["arrival"]) if s.get("arrival") else None,
        arrival_chosen_at=f.get("filled_at", {}).get("arrival"),
    )


def _core_facts(ctx: TurnContext, flow: Flow) -> dict[str, Any]:
    """What the core says about the customer's day, without this flow's own transfer: when a turn is
    played again after a crash (another replica, a restart), the core may already hold it under the
    flow's key, and it must not count against itself (the core returns it again, never twice)."""
    customer = ctx.session.customer_id
    if customer is None:
        return {}
    now = ctx.now()
    usage = ctx.core.daily_usage(customer, Channel.KIOSK, now.date())
    own = ctx.core.transfer_status(_transfer_key(ctx, flow))
    if own is not None and own.status not in (TransferStatus.POSTED, TransferStatus.DELAYED):
        own = None  # rejected or revoked: it moved nothing and counts for nothing
    counted = own.amount if own is not None else Decimal(0)
    facts: dict[str, Any] = dict(daily_transferred=usage.transferred - counted,
                                 daily_transfer_count=usage.transfer_count - (own is not None))
    account = ctx.own_account()
    if account:
        since = now - timedelta(hours=24)
        postings = ctx.core.history(account, since.date(), now.date())
        facts.update(recent_transfers=tuple(
            RecentTransfer(at=p.booked_at, amount=-p.amount, to_account=None)
            for p in postings if p.amount < 0 and p.booked_at >= since and "transfer" in p.description.lower()
            and (own is None or p.reference != own.reference)
        ), balance=ctx.core.balance(account).available + counted)
    return facts


def _read_back(ctx: TurnContext, flow: Flow) -> dict[str, Any]:
    s, check = flow.slots, flow.facts.get("payee_check")
    values: dict[str, Any] = dict(payee_name=s.get("payee_name") or "",
                                  bank=check.bank if check is not None else (s.get("payee_bank") or ""),
                                  arrival_text=ctx.render(f"transfer.arrival.{s.get('arrival') or 'delayed'}"))
    if s.get("amount") is not None:
        values.update(amount_words=amount_words(Decimal(s["amount"]), ctx.session.lang))
    if s.get("account_number"):
        values.update(account=mask_card(str(s["account_number"])))
    return values


def _ask_values(_ctx: TurnContext, flow: Flow) -> dict[str, Any]:
    return dict(payee_name=flow.slots.get("payee_name") or "")


def _wants_receipt(nlu: NluResult) -> bool:
    return any(e.name is SlotName.DELIVERY and e.value == "print" for e in nlu.slots)


PLUGIN = TransactionPlugin(
    name="transfer",
    operations={"validate_payee": validate_payee, "transfer": transfer, "print_receipt": print_receipt},
    guards={"payee_resolved": _payee_resolved, "payee_needs_validation": _payee_needs_validation,
            "arrival_choice_needed": _arrival_choice_needed},
    gate_slots=_gate_slots, core_facts=_core_facts, read_back=_read_back, ask_values=_ask_values,
    resolve=_resolve, answers_in_words=_this_bank, bare_answer=_bare_name, prefill=_prefill,
    wants_offer=_wants_receipt,
)

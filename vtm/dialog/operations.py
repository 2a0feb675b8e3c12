"""The operations named by ``transactions/*.yaml``: each calls the core bank and returns a flow event.

Mutating operations run only through :class:`~vtm.compliance.guarded.GuardedCoreBanking` with
the permit of the ``allow`` verdict just given for their checkpoint, and are journalled before
the core is called (see :mod:`vtm.records.journal`). A customer-facing failure becomes a prompt;
nothing is swallowed silently.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from vtm.banking.errors import (
    CoreBankingError,
    InsufficientFunds,
    LimitExceeded,
    NotFound,
    NotRevocable,
    OutcomeUnknown,
    Unavailable,
)
from vtm.banking.models import Arrival, LossKind, TransferRequest, TransferResult, TransferStatus
from vtm.compliance.verdict import Permit
from vtm.devices import RetainReason
from vtm.dialog.slots import OWN_BANK
from vtm.dialog.speakable import amount_words, money_text, say_date, say_datetime
from vtm.records.journal import JournalStatus
from vtm.records.masking import mask_card, mask_email, mask_name

if TYPE_CHECKING:
    from vtm.dialog.manager import DialogManager

__all__ = ["OPERATIONS", "Operation"]

Operation = Callable[["DialogManager", "Permit | None"], str]


FAULT_ENV = "VTM_FAULT_KILL_AT"


def _fault_point(point: str) -> None:
    """TEST HOOK (tests/e2e/test_kill_mid_transfer.py): ``VTM_FAULT_KILL_AT=before_core|after_core``
    kills this process with SIGKILL at that point of a journalled core call, to prove that the
    start-up recovery never posts twice. Unset in production; it is read here and nowhere else."""
    if os.environ.get(FAULT_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)


def _journalled(dm: DialogManager, operation: str, key: str, params: dict[str, Any],
                call: Callable[[], Any]) -> Any:
    dm.journal.begin(key, dm.session.session_id, operation, params)
    _fault_point("before_core")
    try:
        result = call()
        _fault_point("after_core")
    except OutcomeUnknown:
        dm.journal.finish(key, JournalStatus.UNKNOWN)
        raise
    except CoreBankingError as exc:
        dm.journal.finish(key, JournalStatus.FAILED, {"code": exc.code})
        raise
    dm.journal.finish(key, JournalStatus.DONE, result.model_dump(mode="json"))
    dm.record_operation(operation, key, "done")
    return result


def _core_failure(dm: DialogManager, exc: CoreBankingError) -> str:
    """Say what went wrong in the customer's terms; return the flow event."""
    prompts = {InsufficientFunds: "transfer.insufficient_funds", LimitExceeded: "transfer.limit_exceeded",
               Unavailable: "error.core_unavailable", NotRevocable: "revoke.not_revocable",
               NotFound: "invalid.unknown_card", OutcomeUnknown: "error.outcome_unknown"}
    dm.record_operation(type(exc).__name__, None, exc.code)
    dm.say(next((key for cls, key in prompts.items() if isinstance(exc, cls)), "error.generic"))
    return "fail"


def validate_payee(dm: DialogManager, _: Permit | None) -> str:
    flow = dm.flow_required()
    s = flow.slots
    bank = None if s.get("payee_bank") in (None, OWN_BANK) else str(s["payee_bank"])
    try:
        check = dm.core.validate_payee(str(s["account_number"]), str(s["payee_name"]), bank)
    except CoreBankingError as exc:
        return _core_failure(dm, exc)
    if not check.exists or not check.name_matches:
        # Ask again only for what is wrong: the account when there is no such account, else the name.
        dm.say("transfer.payee_unknown" if not check.exists else "transfer.payee_mismatch")
        s["account_number" if not check.exists else "payee_name"] = None
        flow.facts.pop("saved_payee", None)
        return "reject"
    flow.facts.update(payee_check=check, validated_payee=(s["payee_name"], s["account_number"], s["payee_bank"]),
                      payee_validated_at=dm.now())
    if check.own_account and check.same_bank:
        s["arrival"] = Arrival.REALTIME.value  # own accounts at this bank arrive at once (no 24 h rule)
    if flow.facts.get("saved_payee") is not None:
        dm.say("transfer.payee_found", payee_name=mask_name(str(s["payee_name"])), bank=check.bank,
               account=mask_card(str(s["account_number"])))
    return "proceed"


def transfer(dm: DialogManager, permit: Permit | None) -> str:
    flow = dm.flow_required()
    s, check = flow.slots, flow.facts["payee_check"]
    key = flow.facts.setdefault("transfer_key", dm.session.next_key("transfer"))
    request = TransferRequest(
        idempotency_key=key, from_account=dm.own_account_required(), to_account=str(s["account_number"]),
        payee_name=str(s["payee_name"]), payee_bank=check.bank, amount=Decimal(s["amount"]),
        arrival=Arrival(s.get("arrival") or Arrival.DELAYED.value),
    )
    try:
        result = _journalled(dm, "transfer", key, request.model_dump(mode="json"),
                             lambda: dm.guarded.transfer(request, permit=permit))
    except OutcomeUnknown as exc:
        found = _status_after_unknown(dm, key)
        if found is None:
            return _core_failure(dm, exc)
        result = found
    except CoreBankingError as exc:
        return _core_failure(dm, exc)
    flow.facts["transfer"] = result
    dm.session.factors.discard(dm.reconfirm_factor)
    words = amount_words(result.amount, dm.session.lang)
    if result.status is TransferStatus.DELAYED and result.execute_at is not None:
        dm.session.delayed_transfers.append({"reference": result.reference, "amount": result.amount,
                                             "execute_at": result.execute_at, "to_account": result.to_account})
        dm.say("transfer.done_delayed", amount_words=words, reference=result.reference,
               execute_at=say_datetime(dm.local(result.execute_at), dm.session.lang))
    elif result.status is TransferStatus.POSTED:
        dm.say("transfer.done_posted", amount_words=words, reference=result.reference)
    else:
        dm.say("error.generic")
        return "fail"
    return "proceed"


def _status_after_unknown(dm: DialogManager, key: str) -> TransferResult | None:
    """The outcome is unknown: ask the core by key before anything else; never re-post."""
    try:
        found = dm.core.transfer_status(key)
    except CoreBankingError:
        return None
    if found is not None:
        dm.journal.finish(key, JournalStatus.DONE, found.model_dump(mode="json"))
        dm.record_operation("transfer_status", key, found.status.value)
    return found


def print_receipt(dm: DialogManager, _: Permit | None) -> str:
    flow = dm.flow_required()
    result: TransferResult = flow.facts["transfer"]
    text = dm.render("transfer.receipt", reference=result.reference,
                     payee_name=mask_name(str(flow.slots["payee_name"])), account=mask_card(result.to_account),
                     amount=f"{result.amount:,}", status=result.status.value)
    try:
        path = dm.devices.printer.print_receipt(text.split("  ") if "  " in text else [text], dm.session.lang)
    except Exception as exc:
        dm.record_operation("print_receipt", None, f"device_error: {exc}")
        dm.say("error.generic")
        return "fail"
    dm.record_operation("print_receipt", None, str(path))
    dm.say("transfer.receipt_printed")
    return "proceed"


def report_loss(dm: DialogManager, permit: Permit | None) -> str:
    flow = dm.flow_required()
    card = str(flow.slots["card_number"])
    kind = LossKind(flow.slots["loss_kind"])
    key = flow.facts.setdefault("loss_key", dm.session.next_key("report_loss"))
    try:
        report = _journalled(dm, "report_loss", key, {"card_number": card, "kind": kind.value},
                             lambda: dm.guarded.report_loss(card, kind, key, permit=permit))
    except CoreBankingError as exc:
        return _core_failure(dm, exc)
    flow.facts["loss_report"] = report
    lang = dm.session.lang
    values = {"last4": card[-4:], "reference": report.reference}
    if kind is LossKind.TEMPORARY and report.expires_at is not None:
        dm.say("card_loss.done_temporary", **values, days=dm.policy_days("temporary_loss_days"),
               expires=say_date(dm.local(report.expires_at).date(), lang))
    else:
        dm.say("card_loss.done_formal", **values)
    if dm.session.card_number == card:
        dm.devices.card_reader.retain(RetainReason.REPORTED_LOST)
        dm.say("card_loss.card_retained")
    kind_text = dm.render(f"card_loss.kind.{kind.value}")
    receipt = dm.render("card_loss.receipt", reference=report.reference, card=mask_card(card), kind_text=kind_text,
                        accepted_at=say_datetime(dm.local(report.accepted_at), lang))
    dm.devices.printer.print_receipt([receipt], lang)
    return "proceed"


def order_replacement(dm: DialogManager, permit: Permit | None) -> str:
    flow = dm.flow_required()
    card = str(flow.slots["card_number"])
    key = flow.facts.setdefault("replace_key", dm.session.next_key("order_replacement"))
    try:
        replacement = _journalled(dm, "order_replacement", key, {"card_number": card},
                                  lambda: dm.guarded.order_replacement(card, key, permit=permit))
    except CoreBankingError as exc:
        return _core_failure(dm, exc)
    flow.facts["replacement"] = replacement
    dm.say("card_loss.replaced", new_last4=replacement.new_card_number[-4:])
    return "proceed"


def statement(dm: DialogManager, _: Permit | None) -> str:
    flow = dm.flow_required()
    start, end = flow.slots["date_range"]
    delivery = str(flow.slots["delivery"])
    account = str(flow.slots["account_number"])
    email = dm.customer_email()
    if delivery == "email" and not email:
        dm.say("statement.no_email")
        flow.slots["delivery"] = None
        return "reject" if flow.can_fire("reject") else "fail"
    try:
        doc = dm.core.statement(account, start, end)
    except CoreBankingError as exc:
        return _core_failure(dm, exc)
    lang = dm.session.lang
    if delivery == "print":
        path = dm.devices.printer.print_pdf(f"statement-{account[-4:]}-{start}-{end}.pdf", doc.pdf)
        dm.record_operation("print_statement", None, str(path))
    else:
        dm.record_operation(f"statement_{delivery}", None, doc.verification_code)
    delivery_text = dm.render(f"statement.delivery.{delivery}", email=mask_email(email) if email else "")
    dm.say("statement.done", delivery_text=delivery_text, start=say_date(start, lang), end=say_date(end, lang),
           count=doc.posting_count, closing=money_text(doc.closing_balance, lang))
    flow.facts["statement"] = {"verification_code": doc.verification_code, "postings": doc.posting_count}
    return "proceed"


def balance(dm: DialogManager, _: Permit | None) -> str:
    flow = dm.flow_required()
    account = str(flow.slots["account_number"])
    try:
        bal = dm.core.balance(account)
    except CoreBankingError as exc:
        return _core_failure(dm, exc)
    lang = dm.session.lang
    dm.say("balance.done", last4=account[-4:], balance=money_text(bal.balance, lang),
           available=money_text(bal.available, lang))
    dm.record_operation("balance", None, "shown")
    return "proceed"


def revoke_transfer(dm: DialogManager, permit: Permit | None) -> str:
    flow = dm.flow_required()
    reference = str(flow.slots["transfer_ref"])
    key = flow.facts.setdefault("revoke_key", dm.session.next_key("revoke_transfer"))
    try:
        result = _journalled(dm, "revoke_transfer", key, {"reference": reference},
                             lambda: dm.guarded.revoke_transfer(reference, key, permit=permit))
    except CoreBankingError as exc:
        return _core_failure(dm, exc)
    dm.session.delayed_transfers = [t for t in dm.session.delayed_transfers if t["reference"] != reference]
    dm.say("revoke.done", amount_words=amount_words(result.refunded, dm.session.lang))
    return "proceed"


OPERATIONS: dict[str, Operation] = {
    "validate_payee": validate_payee,
    "transfer": transfer,
    "print_receipt": print_receipt,
    "report_loss": report_loss,
    "order_replacement": order_replacement,
    "statement": statement,
    "balance": balance,
    "revoke_transfer": revoke_transfer,
}


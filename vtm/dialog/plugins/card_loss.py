"""Card loss (挂失): the plug-in of ``transactions/card_loss.yaml``.

The card is the inserted one, a spoken number, or found from the ID card (with the last four
digits when the customer has several); the report is journalled; a card reported lost that is in
the reader is retained, and a receipt is printed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from vtm.banking.errors import CoreBankingError, NotFound
from vtm.banking.models import CardStatus, LossKind
from vtm.common.masking import mask_card
from vtm.compliance.verdict import Permit
from vtm.devices import RetainReason
from vtm.dialog.actions import PrintReceipt, RetainCard
from vtm.dialog.plugins import TransactionPlugin
from vtm.dialog.plugins._shared import card_slot_or_inserted, core_failure, journalled
from vtm.dialog.problems import Problem
from vtm.dialog.speakable import say_date, say_datetime
from vtm.flows.machine import Flow
from vtm.nlu.normalize import normalize
from vtm.nlu.types import NluResult, SlotName

if TYPE_CHECKING:
    from vtm.dialog.context import TurnContext

__all__ = ["PLUGIN"]

_DAYS = "temporary_loss_days"


def _days(ctx: TurnContext) -> int:
    return int(ctx.services.bank_policy.get(_DAYS, 0))


def _replacement_possible(flow: Flow) -> bool:
    # A new card is issued on a formal report only; a temporary report lapses and keeps the card.
    report = flow.facts.get("loss_report")
    return report is not None and report.kind is LossKind.FORMAL and flow.facts.get("replacement") is None


def report_loss(ctx: TurnContext, flow: Flow, permit: Permit | None) -> str:
    card = str(flow.slots["card_number"])
    kind = LossKind(flow.slots["loss_kind"])
    key = flow.facts.setdefault("loss_key", ctx.session.next_key("report_loss"))
    try:
        report = journalled(ctx, "report_loss", key, {"card_number": card, "kind": kind.value},
                            lambda: ctx.guarded.report_loss(card, kind, key, permit=permit))
    except CoreBankingError as exc:
        return core_failure(ctx, exc)
    flow.facts["loss_report"] = report
    lang = ctx.session.lang
    values: dict[str, Any] = {"last4": card[-4:], "reference": report.reference}
    if kind is LossKind.TEMPORARY and report.expires_at is not None:
        ctx.say("card_loss.done_temporary", **values, days=_days(ctx),
                expires=say_date(ctx.local(report.expires_at).date(), lang))
    else:
        ctx.say("card_loss.done_formal", **values)
    if ctx.session.card_number == card:
        ctx.act(RetainCard(RetainReason.REPORTED_LOST))
        ctx.say("card_loss.card_retained")
    kind_text = ctx.render(f"card_loss.kind.{kind.value}")
    receipt = ctx.render("card_loss.receipt", reference=report.reference, card=mask_card(card), kind_text=kind_text,
                         accepted_at=say_datetime(ctx.local(report.accepted_at), lang))
    ctx.act(PrintReceipt("loss_receipt", (receipt,), lang))
    return "proceed"


def order_replacement(ctx: TurnContext, flow: Flow, permit: Permit | None) -> str:
    card = str(flow.slots["card_number"])
    key = flow.facts.setdefault("replace_key", ctx.session.next_key("order_replacement"))
    try:
        replacement = journalled(ctx, "order_replacement", key, {"card_number": card},
                                 lambda: ctx.guarded.order_replacement(card, key, permit=permit))
    except CoreBankingError as exc:
        return core_failure(ctx, exc)
    flow.facts["replacement"] = replacement
    ctx.say("card_loss.replaced", new_last4=replacement.new_card_number[-4:])
    return "proceed"


def _last4_said(nlu: NluResult | None) -> str | None:
    """The card's last four digits: named (尾号8806, "ending in 8806"), or, asked which card, four digits
    and no other number ("八八六六", "my salary card 3379", "zero zero eight eight")."""
    if nlu is None:
        return None
    named = [str(e.value) for e in nlu.slots if e.name is SlotName.CARD_LAST4]
    if named:
        return named[0]
    groups = re.findall(r"\d+", normalize(nlu.text, nlu.lang).text)
    return groups[0] if len(groups) == 1 and len(groups[0]) == 4 else None


def card_from_identity(ctx: TurnContext, flow: Flow, nlu: NluResult | None) -> Problem | None:
    """Card loss without the card: find it from a spoken or scanned ID number and the last four digits."""
    entities = nlu.slots if nlu is not None else []
    spoken = [e for e in entities if e.name is SlotName.ID_NUMBER and e.valid]
    session = ctx.session
    id_number = str(spoken[0].value) if spoken else session.id_number
    said_last4 = _last4_said(nlu)
    if said_last4:
        flow.facts["card_last4"] = said_last4  # kept until the customer is known (尾号8806, then the ID card)
    if id_number is None:
        if said_last4:
            return Problem("card_number", "card_loss.last4_needs_id", {"last4": said_last4})
        return None
    try:
        identity = ctx.core.verify_identity(id_number)
    except NotFound:
        return Problem("card_number", "invalid.unknown_customer", {})
    except CoreBankingError:
        return Problem("card_number", "invalid.id_number.checksum", {})
    session.customer_id = session.customer_id or identity.customer_id
    session.customer_name = session.customer_name or identity.customer_name
    cards = [c for c in ctx.core.cards_of_customer(identity.customer_id) if c.status is not CardStatus.REPLACED]
    ends = ("、" if session.lang == "zh" else ", ").join(c.card_number[-4:] for c in cards)
    last4 = flow.facts.get("card_last4")
    if last4 and cards and not any(c.card_number.endswith(last4) for c in cards):
        return Problem("card_number", "card_loss.last4_not_theirs",
                       {"last4": last4, "choices": ends})
    if last4:
        cards = [c for c in cards if c.card_number.endswith(last4)]
    if len(cards) == 1:
        flow.slots["card_number"] = cards[0].card_number
        return None
    if not cards:
        return Problem("card_number", "invalid.unknown_card", {})
    return Problem("card_number", "invalid.several_cards", {"choices": ends})


def _resolve(ctx: TurnContext, flow: Flow, nlu: NluResult, filled: list[str]) -> list[Problem]:
    problems: list[Problem] = []
    if flow.slots.get("card_number") is None:
        problem = card_from_identity(ctx, flow, nlu)
        if problem:
            problems.append(problem)
        elif flow.slots.get("card_number"):
            filled.append("card_number")
    if "card_number" in filled:
        try:
            ctx.core.card_status(flow.slots["card_number"])
        except NotFound:
            flow.slots["card_number"] = None
            filled.remove("card_number")
            problems.append(Problem("card_number", "invalid.unknown_card", {}))
    return problems


def _identity_known(ctx: TurnContext, flow: Flow) -> None:
    if not flow.slots.get("card_number"):
        problem = card_from_identity(ctx, flow, None)
        if problem is not None:
            ctx.say(problem.key(ctx.services.prompts), **problem.values)


def _gate_slots(ctx: TurnContext, flow: Flow) -> dict[str, Any]:
    kind = flow.slots.get("loss_kind")
    return dict(from_account=ctx.own_account(), loss_kind=LossKind(kind) if kind else None)


def _read_back(ctx: TurnContext, flow: Flow) -> dict[str, Any]:
    s = flow.slots
    values: dict[str, Any] = {"days": _days(ctx)}
    if s.get("card_number"):
        values.update(last4=str(s["card_number"])[-4:])
    if s.get("loss_kind"):
        values.update(kind_text=ctx.render(f"card_loss.kind.{s['loss_kind']}"))
    return values


PLUGIN = TransactionPlugin(
    name="card_loss",
    operations={"report_loss": report_loss, "order_replacement": order_replacement},
    guards={"replacement_possible": _replacement_possible},
    card=card_slot_or_inserted, gate_slots=_gate_slots, read_back=_read_back,
    ask_values=lambda ctx, _flow: {"days": _days(ctx)},
    resolve=_resolve, identity_known=_identity_known,
)

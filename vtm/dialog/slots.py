"""From what the customer said to the transaction's slots: validation and resolution.

Entities come normalised from the NLU (amounts as Decimal, dates resolved, cards Luhn-checked).
Here they are matched to the slots the running transaction declares and resolved against the
core bank where a value names something there (a saved payee, a card, an ID number). A value
that cannot be used becomes a :class:`Problem` with the prompt key that tells the customer why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pypinyin import lazy_pinyin
from rapidfuzz import fuzz

from vtm.banking.errors import CoreBankingError, NotFound
from vtm.banking.port import CoreBanking
from vtm.compliance.matching import pinyin_key
from vtm.dialog.prompts import PromptCatalog
from vtm.dialog.session import Session
from vtm.flows.machine import Flow
from vtm.nlu.types import DateRange, Entity, NluResult, SlotName

__all__ = ["OWN_BANK", "Problem", "card_from_identity", "fill_slots", "guess_bare_name", "resolve_saved_payee",
           "slot_types_filled_by"]

# Which NLU entity can fill which slot type (a payee's card number is also an account number).
_FILLS: dict[str, tuple[SlotName, ...]] = {
    "amount": (SlotName.AMOUNT,),
    "card_number": (SlotName.CARD_NUMBER,),
    "account_number": (SlotName.ACCOUNT_NUMBER, SlotName.CARD_NUMBER),
    "payee_name": (SlotName.PAYEE_NAME,),
    "payee_bank": (SlotName.PAYEE_BANK,),
    "date_range": (SlotName.DATE_RANGE,),
    "delivery": (SlotName.DELIVERY,),
    "loss_kind": (SlotName.LOSS_KIND,),
    "arrival": (SlotName.ARRIVAL,),
    "id_number": (SlotName.ID_NUMBER,),
}
OWN_BANK = "OWN"  # payee_bank value for "this bank" (the core fills in its own name)
_SAVED_PAYEE_MATCH = 88  # rapidfuzz ratio: names arrive through speech recognition
_LATIN = re.compile(r"[A-Za-z]")
_HAN_NAME = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
_EN_NAME = re.compile(r"^[A-Za-z][A-Za-z'\-]+(?: [A-Za-z][A-Za-z'\-]+){0,2}$")
_NAME_CUES = re.compile(r"^(?:(?:sorry|no|不好意思|抱歉|不对)[,，]?\s*)?"
                        r"(?:转给|汇给|打给|给|是|收款人是?|收款人叫|叫|to |it's |its |the payee is |payee )?", re.I)
_NOT_NAMES = {"是的", "对的", "好的", "不是", "不对", "可以", "取消", "人工", "帮助", "什么", "多少", "yes", "no",
              "okay", "ok", "cancel", "help", "repeat", "staff", "sure", "thanks", "right", "fine"}


@dataclass(frozen=True)
class Problem:
    """A value the customer gave that cannot be used; ``prompt`` says why."""

    slot: str
    prompt: str
    values: dict[str, Any]
    fallback: str | None = None  # said when the bank's prompts have no text for ``prompt`` itself

    def key(self, prompts: PromptCatalog) -> str:
        """The prompt to say: the specific one (``invalid.card_number.length``) if the bank wrote it, else the
        general one for the reason (``invalid.length``), which every reason has in both languages."""
        return self.prompt if self.fallback is None or prompts.has(self.prompt) else self.fallback


def guess_bare_name(text: str) -> str | None:
    """A bare answer to "who to?" ("王芳", "to John Smith") when the extractor found no cue."""
    stripped = _NAME_CUES.sub("", text.strip().rstrip("。.!！?？")).strip()
    if stripped.casefold() in _NOT_NAMES or "银行" in stripped or "bank" in stripped.casefold():
        return None
    if _HAN_NAME.match(stripped) or _EN_NAME.match(stripped):
        return stripped.title() if stripped.isascii() else stripped
    return None


def slot_types_filled_by(nlu: NluResult) -> set[str]:
    """The slot types the utterance's entities can fill (valid or not: an invalid value is still an answer)."""
    kinds = {e.name for e in nlu.slots}
    return {slot_type for slot_type, fills in _FILLS.items() if kinds & set(fills)}


def _entity_value(entity: Entity) -> Any:
    value = entity.value
    if isinstance(value, DateRange):
        return (value.start, value.end)
    return value


def fill_slots(flow: Flow, nlu: NluResult, session: Session, core: CoreBanking,
               only_missing: bool = False) -> tuple[list[str], list[Problem]]:
    """Set every slot of ``flow`` the utterance gives a value for; return (slots set, problems)."""
    declared = {s.name: s.type for s in flow.definition.slots}
    by_name: dict[SlotName, list[Entity]] = {}
    for entity in nlu.slots:
        by_name.setdefault(entity.name, []).append(entity)
    filled: list[str] = []
    problems: list[Problem] = []

    for slot, slot_type in declared.items():
        if only_missing and flow.slots.get(slot) is not None:
            continue
        candidates = [e for kind in _FILLS.get(slot_type, ()) for e in by_name.get(kind, [])]
        if not candidates:
            continue
        entity = candidates[0]
        if not entity.valid:
            problems.append(Problem(slot, f"invalid.{entity.name.value}.{entity.reason}", {},
                                    fallback=f"invalid.{entity.reason}"))
            continue
        flow.slots[slot] = _entity_value(entity)
        filled.append(slot)

    # Resolutions against the core bank.
    if "payee_name" in filled:
        resolve_saved_payee(flow, session, core)
    if flow.name == "card_loss" and flow.slots.get("card_number") is None:
        problem = card_from_identity(flow, by_name, session, core)
        if problem:
            problems.append(problem)
        elif flow.slots.get("card_number"):
            filled.append("card_number")
    if "card_number" in filled and flow.name == "card_loss":
        try:
            core.card_status(flow.slots["card_number"])
        except NotFound:
            flow.slots["card_number"] = None
            filled.remove("card_number")
            problems.append(Problem("card_number", "invalid.unknown_card", {}))
    if "payee_name" in filled or "account_number" in filled or "payee_bank" in filled:
        flow.facts.pop("validated_payee", None)
    return filled, problems


def resolve_saved_payee(flow: Flow, session: Session, core: CoreBanking) -> None:
    """A name that matches a saved payee fills the account and bank too (the customer need not spell them)."""
    name = str(flow.slots["payee_name"])
    if session.customer_id is None:
        return  # asked again once the customer is known (after the PIN)
    flow.facts["payee_lookup_for"] = name
    try:
        payees = core.saved_payees(session.customer_id)
    except CoreBankingError:
        return  # the customer will be asked for the account instead
    best = max(payees, key=lambda p: _name_similarity(p.name, name), default=None)
    if best is not None and _name_similarity(best.name, name) >= _SAVED_PAYEE_MATCH:
        flow.slots.update(payee_name=best.name, account_number=best.account_number, payee_bank=best.bank)
        flow.facts["saved_payee"] = best


def _name_similarity(saved: str, said: str) -> float:
    """How alike two names are, by characters or, when one is in Latin letters, by toneless pinyin
    ("Liu Yang" for 刘洋: the same keys the watch-list screening compares)."""
    direct = fuzz.ratio(saved, said)
    if _LATIN.search(said) and not _LATIN.search(saved):
        return max(direct, fuzz.token_sort_ratio(" ".join(lazy_pinyin(saved)), said.lower()),
                   fuzz.ratio(pinyin_key(saved), pinyin_key(said)))
    return direct


def card_from_identity(flow: Flow, by_name: dict[SlotName, list[Entity]], session: Session,
                        core: CoreBanking) -> Problem | None:
    """Card loss without the card: find it from a spoken or scanned ID number and the last four digits."""
    id_entities = [e for e in by_name.get(SlotName.ID_NUMBER, []) if e.valid]
    id_number = str(id_entities[0].value) if id_entities else session.id_number
    if id_number is None:
        return None
    try:
        identity = core.verify_identity(id_number)
    except NotFound:
        return Problem("card_number", "invalid.unknown_customer", {})
    except CoreBankingError:
        return Problem("card_number", "invalid.id_number.checksum", {})
    session.customer_id = session.customer_id or identity.customer_id
    session.customer_name = session.customer_name or identity.customer_name
    cards = [c for c in core.cards_of_customer(identity.customer_id) if c.status.value != "replaced"]
    last4 = [str(e.value) for e in by_name.get(SlotName.CARD_LAST4, [])]
    if last4:
        cards = [c for c in cards if c.card_number.endswith(last4[0])]
    if len(cards) == 1:
        flow.slots["card_number"] = cards[0].card_number
        return None
    if not cards:
        return Problem("card_number", "invalid.unknown_card", {})
    return Problem("card_number", "invalid.several_cards",
                   {"choices": "、".join(c.card_number[-4:] for c in cards)})

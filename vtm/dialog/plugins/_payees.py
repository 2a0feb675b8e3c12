"""Payees for the transfer plug-in: saved payees by name (pinyin too), bare names, this bank."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pypinyin import lazy_pinyin
from rapidfuzz import fuzz

from vtm.banking.errors import CoreBankingError
from vtm.compliance.matching import pinyin_key
from vtm.flows.machine import Flow

if TYPE_CHECKING:
    from vtm.dialog.context import TurnContext

__all__ = ["OWN_BANK", "guess_bare_name", "resolve_saved_payee"]

OWN_BANK = "OWN"  # payee_bank value for "this bank" (the core fills in its own name)
_SAVED_PAYEE_MATCH = 88  # rapidfuzz ratio: names arrive through speech recognition
_LATIN = re.compile(r"[A-Za-z]")
_HAN_NAME = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
_EN_NAME = re.compile(r"^[A-Za-z][A-Za-z'\-]+(?: [A-Za-z][A-Za-z'\-]+){0,2}$")
_NAME_CUES = re.compile(r"^(?:(?:sorry|no|不好意思|抱歉|不对)[,，]?\s*)?"
                        r"(?:转给|汇给|打给|给|是|收款人是?|收款人叫|叫|to |it's |its |the payee is |payee )?", re.I)
_NOT_NAMES = {"是的", "对的", "好的", "不是", "不对", "可以", "取消", "人工", "帮助", "什么", "多少", "yes", "no",
              "okay", "ok", "cancel", "help", "repeat", "staff", "sure", "thanks", "right", "fine"}


def guess_bare_name(text: str) -> str | None:
    """A bare answer to "who to?" ("王芳", "to John Smith") when the extractor found no cue."""
    stripped = _NAME_CUES.sub("", text.strip().rstrip("。.!！?？")).strip()
    if stripped.casefold() in _NOT_NAMES or "银行" in stripped or "bank" in stripped.casefold():
        return None
    if _HAN_NAME.match(stripped) or _EN_NAME.match(stripped):
        return stripped.title() if stripped.isascii() else stripped
    return None


def resolve_saved_payee(ctx: TurnContext, flow: Flow) -> None:
    """A name that matches a saved payee fills the account and bank too (the customer need not spell them)."""
    name = str(flow.slots["payee_name"])
    customer = ctx.session.customer_id
    if customer is None:
        return  # asked again once the customer is known (after the PIN)
    flow.facts["payee_lookup_for"] = name
    try:
        payees = ctx.core.saved_payees(customer)
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

"""Digit-string slots: ``card_number``, ``account_number``, ``id_number``, ``phone``, ``card_last4``.

Spoken digit strings are already digits in the normalised text ("六二二二 零二零二 ..." ->
"62220202..."). What a string *is* comes first from the word said just before it (卡号, 账号,
身份证, 手机, card, account, ID, phone), then from its shape:

* 11 digits starting 1[3-9] -> ``phone``
* 18 characters ending in X, or passing GB 11643 while failing Luhn -> ``id_number``
* 16-19 digits -> ``card_number`` (Luhn-checked)
* 10-15 digits -> ``account_number`` (no check digit is standard for accounts)

A number that is named but malformed (a card failing Luhn, an ID failing its checksum, a phone
of the wrong length) is reported invalid with the reason, so the dialog can say so.
"""

from __future__ import annotations

import re

from vtm.common.checksums import gb11643_valid, luhn_valid
from vtm.nlu.entities._base import make_entity
from vtm.nlu.normalize import Normalized
from vtm.nlu.types import Entity, InvalidReason, SlotName

__all__ = ["find_digit_strings", "find_last4"]

_RUN = re.compile(r"(?<![\d.¥])\d{7,}(?:x|叉)?(?![\d.]|\s?(?:元|块|圆|人民币|yuan|rmb|kuai|bucks?|dollars?))")
_CUES: list[tuple[SlotName, re.Pattern[str]]] = [
    (SlotName.ID_NUMBER, re.compile(r"身份证号?码?|证件号码?|id\s?(?:card\s?)?(?:number|no)?|identity")),
    (SlotName.PHONE, re.compile(r"手机号?码?|电话号?码?|联系方式|phone(?:\s?number)?|mobile(?:\s?number)?")),
    (SlotName.ACCOUNT_NUMBER, re.compile(r"账号|帐号|账户|帐户|户头|account(?:\s?number)?|acct")),
    (SlotName.CARD_NUMBER, re.compile(r"卡号码?|银行卡|卡|card(?:\s?number)?")),
]
_CUE_WINDOW = 20  # "my ID number is 3204...": the cue can sit a few words before
_FOUR = r"(\d(?: ?\d){3})(?! ?\d)"  # four digits, perhaps said one by one ("0 0 7 3")
_LAST4 = re.compile(
    r"(?:尾号|尾数|末四位|后四位|最后四位|卡尾号|后4位|末4位|最后4位)(?:是|为|:)?\s?" + _FOUR + "|"
    r"(?:ending(?: in| with)?|ends(?: in| with)?|last (?:four|4)(?: digits)?(?: are| is)?|"
    r"last (?:four|4) numbers(?: are| is)?)\s?:?\s?" + _FOUR + "|"
    r"(?<![\d ])(\d{4}) ?(?:那张|这张|的那张|那一张|的卡)"  # 8806那张: a card named by its end
)


def _cue(text: str, start: int) -> SlotName | None:
    """The kind named closest before ``start`` (within a few characters), if any."""
    window = text[max(0, start - _CUE_WINDOW) : start]
    best: tuple[int, SlotName] | None = None
    for name, pattern in _CUES:
        for m in pattern.finditer(window):
            if best is None or m.end() > best[0]:
                best = (m.end(), name)
    return best[1] if best else None


def _classify(digits: str, cue: SlotName | None) -> tuple[SlotName, InvalidReason | None] | None:
    n = len(digits)
    is_id_shape = n == 18 and (digits[-1] == "x" or digits[:-1].isdigit())
    if cue is SlotName.ID_NUMBER:
        if n != 18:
            return SlotName.ID_NUMBER, InvalidReason.LENGTH
        return SlotName.ID_NUMBER, None if gb11643_valid(digits.upper()) else InvalidReason.CHECKSUM
    if digits.endswith("x"):
        if n == 18:
            return SlotName.ID_NUMBER, None if gb11643_valid(digits.upper()) else InvalidReason.CHECKSUM
        return None
    if cue is SlotName.PHONE:
        ok = n == 11 and re.fullmatch(r"1[3-9]\d{9}", digits) is not None
        return SlotName.PHONE, None if ok else InvalidReason.LENGTH
    if cue is SlotName.ACCOUNT_NUMBER:
        if 10 <= n <= 19:
            return SlotName.ACCOUNT_NUMBER, None
        return SlotName.ACCOUNT_NUMBER, InvalidReason.LENGTH
    if cue is SlotName.CARD_NUMBER:
        if 16 <= n <= 19:
            return SlotName.CARD_NUMBER, None if luhn_valid(digits) else InvalidReason.CHECKSUM
        return SlotName.CARD_NUMBER, InvalidReason.LENGTH
    # No cue: the shape decides.
    if n == 11 and re.fullmatch(r"1[3-9]\d{9}", digits):
        return SlotName.PHONE, None
    if is_id_shape and gb11643_valid(digits) and not luhn_valid(digits):
        return SlotName.ID_NUMBER, None
    if 16 <= n <= 19:
        return SlotName.CARD_NUMBER, None if luhn_valid(digits) else InvalidReason.CHECKSUM
    if 10 <= n <= 15:
        return SlotName.ACCOUNT_NUMBER, None
    return None


def find_digit_strings(norm: Normalized) -> list[Entity]:
    """Card, account, ID and phone numbers in ``norm``."""
    found = []
    for m in _RUN.finditer(norm.text):
        digits = m.group().replace("叉", "x")
        kind = _classify(digits, _cue(norm.text, m.start()))
        if kind is None:
            continue
        name, reason = kind
        value = digits.upper() if name is SlotName.ID_NUMBER else digits
        found.append(make_entity(norm, name, value, m.start(), m.end(), reason=reason))
    return found


def find_last4(norm: Normalized) -> list[Entity]:
    """``card_last4``: 尾号1234, 尾号是1234, ending in 1234, last four 1234."""
    found = []
    for m in _LAST4.finditer(norm.text):
        group = next(i for i in (1, 2, 3) if m.group(i))
        digits = m.group(group).replace(" ", "")
        found.append(make_entity(norm, SlotName.CARD_LAST4, digits, m.start(group), m.end(group)))
    return found

"""``amount``: a sum of money in yuan, as ``Decimal``.

Works on the normalised text, where spoken numbers are already digits ("三点五万" -> "35000",
"two thousand five hundred" -> "2500", "2k" -> "2000", "2,500" -> "2500"). An amount is a
number that carries money evidence: a currency word after it (元, 块, 块钱, yuan, bucks, rmb),
a currency sign before it (¥), or a money verb before it (转, 汇, transfer, send, pay); those
have confidence 1.0 / 0.9. A bare answer ("五百", "不对是五百") gets 0.6, and any other number of
10 or more that is not a count, time, date or code gets 0.5: the dialog weighs those against
the slot it asked for. The value being corrected away ("不是两千 是两千五") is not reported.

Negative, zero, absurd (> 10^8 yuan) and over-precise amounts are reported as invalid entities.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from vtm.nlu.entities._base import make_entity
from vtm.nlu.normalize import Normalized
from vtm.nlu.types import Entity, InvalidReason, SlotName

__all__ = ["MAX_AMOUNT", "find_amounts"]

MAX_AMOUNT = Decimal(100_000_000)  # no kiosk movement is ever above 10^8 yuan (vtm.banking.models)

_NUM = r"(?P<neg>-|负|minus |negative )?(?P<num>\d+(?:\.\d+)?)"
_NOT_AFTER = (
    r"(?![\d.]|\s?(?:月|号|日|年|个|天|周|岁|点|位|小时|分|%|days?|months?|weeks?|years?|hours?|digits?))"
)
_UNIT = r"(?:元整|元|块钱|块|圆整|圆|人民币|rmb|yuan|kuai|bucks?|dollars?|cny)"
_PATTERNS = [
    # currency after: 500元, 300 bucks, 三千块
    (re.compile(rf"(?<![\d.]){_NUM}\s?{_UNIT}"), 1.0),
    # currency sign before: ¥300, rmb 300
    (re.compile(r"(?:¥|rmb\s?|cny\s?)(?P<neg>-)?(?P<num>\d+(?:\.\d+)?)(?![\d.])"), 1.0),
    # money verb before: 转500, 给我妈转2000, transfer 2500, send him 300
    (re.compile(
        rf"(?:转账?|汇款?|打款?|付款?|支付|(?:转账给|转给|汇给|打给|给)[\u4e00-\u9fff]{{1,8}}?|"
        rf"transfer|send|pay|wire|move|remit)"
        rf"(?:了|一下|\s?(?:him|her|them|my \w+|\w+)\s)?\s?(?<![\d.]){_NUM}{_NOT_AFTER}"
    ), 0.9),
]
_BARE = re.compile(
    r"^(?:(?:不对|不是|错了|改成|改为|换成|就|是|金额|金额是|转|make it|it's|it is|no|amount|the amount is)"
    r"[\s,]*)*"
    rf"{_NUM}(?:\s?(?:吧|啊|的|呀|就行|就好|可以吗|please|thanks))*[\s.,!?。]*$"
)


# Any other number of 10 or more, not followed by a unit that makes it a count, a time or a
# date: most likely money in a banking turn ("大概三千二", "give my daughter five hundred"), but
# with a low confidence the dialog weighs against what it asked.
_GENERIC = re.compile(
    rf"(?<![\d.:])(?<!第)(?<!尾号)(?P<neg>)(?P<num>[1-9]\d*(?:\.\d+)?){_NOT_AFTER}"
    r"(?!\s?(?:张|笔|次|人|位|卡|号|层|楼|条|页|份|cards?|times?|people|pages?|copies|am|pm|o'clock))"
)
_GENERIC_CONFIDENCE = 0.5
# The value being corrected away: "不是两千 是两千五", "not two thousand, 2500".
_REJECTED = re.compile(r"(?:不是|不要|not|isn't|instead of|rather than)\s?$")


def _looks_like_year(norm: Normalized, start: int, end: int) -> bool:
    """A written 19xx / 20xx ("for 2025"); spoken "two thousand" is money, not a year."""
    text = norm.text[start:end]
    o_start, o_end = norm.span(start, end)
    written = norm.original[o_start:o_end].strip()
    return text.isdigit() and len(text) == 4 and 1900 <= int(text) <= 2100 and written.isdigit()


def _value(neg: str | None, num: str) -> Decimal | None:
    try:
        value = Decimal(num)
    except InvalidOperation:
        return None
    return -value if neg else value


def _reason(value: Decimal) -> InvalidReason | None:
    if value < 0:
        return InvalidReason.NEGATIVE
    if value == 0:
        return InvalidReason.ZERO
    if value > MAX_AMOUNT:
        return InvalidReason.TOO_LARGE
    if value.as_tuple().exponent < -2:  # type: ignore[operator]  # finite Decimal: exponent is an int
        return InvalidReason.TOO_PRECISE
    return None


def find_amounts(norm: Normalized) -> list[Entity]:
    """Every amount in ``norm``, left to right, without overlaps."""
    text = norm.text
    found: list[Entity] = []
    taken: list[tuple[int, int]] = []
    candidates: list[tuple[int, int, Decimal, float]] = []
    for pattern, confidence in _PATTERNS:
        for m in pattern.finditer(text):
            value = _value(m.group("neg"), m.group("num"))
            if value is None or len(m.group("num").split(".")[0]) > 15:
                continue  # a long digit string is a card or account number, not money
            start = m.start("neg") if m.group("neg") else m.start("num")
            candidates.append((start, m.end(), value, confidence))
    for m in _GENERIC.finditer(text):
        value = _value(None, m.group("num"))
        digits = m.group("num").split(".")[0]
        if value is None or value < 10 or len(digits) > 9:
            continue  # a count or a code
        if _looks_like_year(norm, m.start("num"), m.end("num")):
            continue  # "statement for 2025"
        candidates.append((m.start("num"), m.end(), value, _GENERIC_CONFIDENCE))
    bare = _BARE.match(text)
    if bare and len(bare.group("num").split(".")[0]) <= 9:
        value = _value(bare.group("neg"), bare.group("num"))
        if value is not None:
            start = bare.start("neg") if bare.group("neg") else bare.start("num")
            candidates.append((start, bare.end("num"), value, 0.6))
    for start, end, value, confidence in sorted(candidates, key=lambda c: (c[0], -c[3], -(c[1] - c[0]))):
        if any(start < e and s < end for s, e in taken) or _REJECTED.search(text[max(0, start - 12) : start]):
            continue
        taken.append((start, end))
        reason = _reason(value)
        entity = make_entity(norm, SlotName.AMOUNT, value, start, end, reason=reason, confidence=confidence)
        found.append(entity)
    return found

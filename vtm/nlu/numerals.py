"""Spoken numbers to digits: the primitives shared by normalisation and the entity extractors.

Two kinds of spoken number exist and need different rules:

* **cardinals** ("两千三", "三点五万", "two thousand five hundred"): a quantity. Chinese ones go
  to ``cn2an`` (smart mode, which also takes "2万5"); decimals are assembled here as ``Decimal``
  because ``cn2an`` answers them as ``float``. English ones go to ``text2num``.
* **digit strings** ("六二二二 零二零二", "幺三八", "one two three four", "double five"): a code,
  read digit by digit; leading zeros matter, so these are never parsed as integers.

Nothing here raises on odd input: a parse that fails returns ``None`` and the caller leaves the
words as they were.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import cn2an
from text_to_num import text2num  # type: ignore[import-untyped]  # ships no type information

__all__ = [
    "CN_DIGITS",
    "CN_MULTIPLIERS",
    "EN_DIGIT_WORDS",
    "EN_NUMBER_WORDS",
    "cn_digit_string",
    "en_number",
    "format_decimal",
    "parse_cn_cardinal",
]

# Digit characters as heard in Mandarin read-outs: 幺 for one and 洞 for zero are the
# radio/telephone habit, 两 is the colloquial two.
CN_DIGITS: dict[str, str] = {
    "零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3",
    "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9",
}  # fmt: skip
CN_MULTIPLIERS = frozenset("十百千万亿")
_CN_SCALE = {"十": Decimal(10), "百": Decimal(100), "千": Decimal(1000), "万": Decimal(10_000),
             "亿": Decimal(100_000_000)}  # fmt: skip

EN_DIGIT_WORDS: dict[str, str] = {
    "zero": "0", "oh": "0", "o": "0", "nought": "0", "one": "1", "two": "2", "three": "3",
    "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_EN_COMPOUND = frozenset(
    "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen "  # noqa: SIM905 - a word list reads best as a sentence
    "twenty thirty forty fifty sixty seventy eighty ninety".split()
)
_EN_SCALE = {
    "hundred": Decimal(100), "thousand": Decimal(1000), "grand": Decimal(1000), "k": Decimal(1000),
    "million": Decimal(1_000_000), "billion": Decimal(1_000_000_000),
}  # fmt: skip
_EN_REPEAT = {"double": 2, "triple": 3}
EN_NUMBER_WORDS = frozenset(EN_DIGIT_WORDS) | _EN_COMPOUND | frozenset(_EN_SCALE) | frozenset(_EN_REPEAT)


def format_decimal(value: Decimal) -> str:
    """``Decimal`` to plain digits without exponent or trailing fractional zeros."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def cn_digit_string(chars: str) -> str | None:
    """Read a string of digit characters ("幺三八", "6222零二") digit by digit, or ``None``."""
    out = []
    for ch in chars:
        if ch.isascii() and ch.isdigit():
            out.append(ch)
        elif ch in CN_DIGITS:
            out.append(CN_DIGITS[ch])
        else:
            return None
    return "".join(out)


def _cn_integer(chars: str) -> Decimal | None:
    if not chars:
        return None
    try:
        value = cn2an.cn2an(chars, "smart")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    return Decimal(value)


def parse_cn_cardinal(chars: str) -> Decimal | None:
    """A Chinese (or mixed "2万5") cardinal: "两千三" -> 2300, "三点五万" -> 35000, "1.5万" -> 15000.

    Units (元, 块 ...) must already be stripped. Returns ``None`` when the characters are not one
    well-formed number ("一五一十", "十几").
    """
    sep = next((s for s in ("点", ".") if s in chars), None)
    if sep is None:
        return _cn_integer(chars)
    head, _, tail = chars.partition(sep)
    scale = Decimal(1)
    while tail and tail[-1] in ("万", "亿", "千"):  # 三点五万: the scale applies to the whole decimal
        scale *= _CN_SCALE[tail[-1]]
        tail = tail[:-1]
    whole = _cn_integer(head)
    frac = cn_digit_string(tail)
    if whole is None or not frac:
        return None
    try:
        return Decimal(f"{whole:f}.{frac}") * scale
    except InvalidOperation:
        return None


def _en_cardinal(words: list[str]) -> Decimal | None:
    """Compositional English cardinal ("two thousand and fifty") via text2num."""
    words = ["thousand" if w in ("grand", "k") else w for w in words]
    if words and words[0] == "a":
        words = ["one", *words[1:]]
    try:
        return Decimal(text2num(" ".join(words), "en"))
    except (ValueError, TypeError):
        return None


def _en_chunked(words: list[str]) -> str | None:
    """Run-on numbers read in pairs ("twenty twenty four", "nine eleven") as a digit string."""
    out: list[str] = []
    i = 0
    while i < len(words):
        for j in range(len(words), i, -1):
            value = _en_cardinal(words[i:j])
            if value is not None and value < 100:
                out.append(str(int(value)))
                i = j
                break
        else:
            return None
    return "".join(out)


def en_number(words: list[str]) -> str | None:
    """English number words to a digit string, or ``None`` if they are not one number.

    ``["two", "thousand", "five", "hundred"]`` -> ``"2500"``; ``["one", "two", "three", "four"]``
    -> ``"1234"``; ``["double", "five"]`` -> ``"55"``; ``["three", "point", "five", "k"]`` -> ``"3500"``.
    """
    words = [w for w in words if w]
    if not words:
        return None
    is_digits = all(w in EN_DIGIT_WORDS or w in _EN_REPEAT for w in words)
    if is_digits:
        out: list[str] = []
        repeat = 1
        for w in words:
            if w in _EN_REPEAT:
                repeat = _EN_REPEAT[w]
                continue
            out.append(EN_DIGIT_WORDS[w] * repeat)
            repeat = 1
        return "".join(out) if out and repeat == 1 else None
    if "point" in words:
        idx = words.index("point")
        whole = _en_cardinal(words[:idx]) if idx else Decimal(0)
        rest = words[idx + 1 :]
        frac = []
        while rest and rest[0] in EN_DIGIT_WORDS:
            frac.append(EN_DIGIT_WORDS[rest.pop(0)])
        scale = Decimal(1)
        for w in rest:
            if w not in _EN_SCALE:
                return None
            scale *= _EN_SCALE[w]
        if whole is None or not frac:
            return None
        return format_decimal(Decimal(f"{whole:f}.{''.join(frac)}") * scale)
    value = _en_cardinal(words)
    if value is not None:
        return format_decimal(value)
    return _en_chunked(words)

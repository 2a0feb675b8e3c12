"""Normalise an ASR transcript for understanding, keeping a map back to the original text.

Steps, in order (each safe on any Unicode input, none raises):

1. NFKC per character (full-width -> half-width, compatibility forms) and lowercase.
2. Traditional -> simplified Chinese (``zhconv``; Whisper often answers in traditional).
3. Filler words removed: 嗯 呃 and a leading 额 / 那个 / 就是; um, uh, er, hmm. An utterance that
   is *only* filler ("嗯") is kept, since there it means "yes".
4. Spoken numbers to digits where that is safe: Chinese cardinals with a multiplier (两千三,
   三点五万, 2万5), digit strings of three or more (幺三八, 六二二二 零二零二), a single digit
   only before a unit (三块, 两个月, 一月); English number words (two thousand five hundred,
   one two three four, double five), 2k / 1.5 million, thousands separators (2,500), and digit
   groups read with pauses (6222 0202 1234 5678). Names that contain numerals (张三, 李四)
   stay as they are: a lone numeral without a unit is never converted.
5. Whitespace collapsed; spaces next to Chinese characters dropped (ASR inserts them freely).

``Normalized.span(start, end)`` maps a span of the normalised text back to the original, so
entities point at what the customer said.

Usage::

    n = normalize("我想轉 兩千 給張三")
    n.text           # '我想转2000给张三'
    n.span(3, 7)     # (4, 6): '兩千', the original characters that became '2000'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import zhconv

from vtm.nlu.numerals import (
    CN_DIGITS,
    CN_MULTIPLIERS,
    EN_DIGIT_WORDS,
    cn_digit_string,
    en_number,
    format_decimal,
    parse_cn_cardinal,
)
from vtm.nlu.types import Lang

__all__ = ["NORMALIZE_VERSION", "Normalized", "detect_lang", "normalize"]

NORMALIZE_VERSION = "1"
"""Bumped whenever the normalised text can change; include it in any cache key of a model
trained on normalised text."""

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def detect_lang(text: str, default: Lang = "zh") -> Lang:
    """``"zh"`` or ``"en"``: Chinese characters counted against Latin words.

    A Chinese character carries a little less than an English word (weight 0.75), so mixed
    speech such as "我想转 two thousand 给张三" counts as Chinese and "send 500 to 张三" as English.
    """
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN_WORD.findall(text))
    if cjk == 0 and latin == 0:
        return default
    return "zh" if 0.75 * cjk >= latin else "en"


@dataclass(frozen=True, slots=True)
class Normalized:
    """The normalised text and, per character, the original span it came from."""

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    lang: Lang

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``(start, end)`` of the normalised characters ``text[start:end]``."""
        if not self.text:
            return (0, 0)
        start = min(max(start, 0), len(self.text) - 1)
        end = min(max(end, start + 1), len(self.text))
        return (self.starts[start], self.ends[end - 1])


@dataclass(slots=True)
class _Chars:
    text: str
    starts: list[int]
    ends: list[int]

    def rewrite(self, pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str | None]) -> None:
        """Replace each match by ``repl(match)`` (``None`` keeps it); new characters map to the
        whole original span of what they replace."""
        parts: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        last = 0
        for m in pattern.finditer(self.text):
            new = repl(m)
            if new is None or m.end() == m.start() or new == m.group():
                continue
            a, b = m.start(), m.end()
            parts.append(self.text[last:a])
            starts.extend(self.starts[last:a])
            ends.extend(self.ends[last:a])
            parts.append(new)
            starts.extend([self.starts[a]] * len(new))
            ends.extend([self.ends[b - 1]] * len(new))
            last = b
        if not parts:
            return
        parts.append(self.text[last:])
        starts.extend(self.starts[last:])
        ends.extend(self.ends[last:])
        self.text, self.starts, self.ends = "".join(parts), starts, ends


def _fold(original: str) -> _Chars:
    """NFKC + lowercase per character, so every output character knows its source."""
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, ch in enumerate(original):
        out = ch if ch.isascii() else unicodedata.normalize("NFKC", ch)
        out = out.lower()
        parts.append(out)
        starts.extend([i] * len(out))
        ends.extend([i + 1] * len(out))
    return _Chars("".join(parts), starts, ends)


def _simplify(chars: _Chars) -> None:
    if not _CJK.search(chars.text):
        return
    converted = zhconv.convert(chars.text, "zh-cn")
    if len(converted) != len(chars.text):  # phrase rules changed the length: go char by char
        converted = "".join(c if len(s := zhconv.convert(c, "zh-cn")) != 1 else s for c in chars.text)
    chars.text = converted


# --- fillers -----------------------------------------------------------------------------------
_ZH_FILLER = re.compile(r"[嗯呃]+|(?:^|(?<=[\s,.!?。、]))(?:额+(?!度|外)|那个|就是说?)")
_EN_FILLER = re.compile(r"\b(?:u+m+|u+h+(?!\s*huh)|uhm|e+r+m*|h+m+|a+h+)\b|(?<=,)\s*like\s*,")


def _remove_fillers(chars: _Chars) -> None:
    before = (chars.text, chars.starts, chars.ends)
    for _ in range(3):  # "那个那个就是" peels one layer per pass
        chars.rewrite(_ZH_FILLER, lambda m: "")
        chars.rewrite(_EN_FILLER, lambda m: "")
    if not chars.text.strip(" ,.!?。、"):
        chars.text, chars.starts, chars.ends = before


# --- Chinese numerals ------------------------------------------------------------------------
_DIGIT_CHARS = "0123456789" + "".join(CN_DIGITS)
_NUM_CHARS = _DIGIT_CHARS + "".join(CN_MULTIPLIERS)
_ZH_RUN = re.compile(
    rf"[{_DIGIT_CHARS}十][{_NUM_CHARS}]*(?:[点.][{_DIGIT_CHARS}]+[万亿千]?)?"
    rf"(?:[ ,、]+[{_DIGIT_CHARS}][{_NUM_CHARS}]*)*"
)
_UNIT_AFTER = re.compile(r"(?:块|元|圆|月|号|日|天|周|年|岁|个月|个星期|个礼拜|个工作日)")
_SMALL_DIGITS = frozenset("零〇一二三四五六七八九两0123456789")


def _zh_digit_groups(m: re.Match[str]) -> str | None:
    """六二二二 零二零二: one digit string read in groups (two or more digits each, or single digits
    read one by one), joined. Anything else is left to the per-number pass."""
    groups = re.split(r"[ ,、]+", m.group())
    if len(groups) < 2 or m.group().isascii():
        return None
    digits = [cn_digit_string(g) for g in groups]
    lengths = [len(d) if d is not None else 0 for d in digits]
    joinable = all(d is not None for d in digits) and (
        all(n >= 2 for n in lengths) or (all(n == 1 for n in lengths) and len(lengths) >= 3)
    )
    return "".join(d for d in digits if d) if joinable else None


def _zh_number(m: re.Match[str]) -> str | None:
    return _zh_single(m.group(), m.string[m.end() :])


_ADJACENT_CN_DIGITS = re.compile(r"[一二三四五六七八九两幺洞〇][零〇一二三四五六七八九两幺洞]")
_MIXED_DIGITS = re.compile(r"[零〇一二三四五六七八九两幺洞][0-9]|[0-9][零〇一二三四五六七八九两幺洞]")


def _zh_single(run: str, after: str) -> str | None:
    if run.isascii() or _MIXED_DIGITS.search(run):
        return None  # "张三2000": a name's numeral next to a written number is not one number
    if any(c in CN_MULTIPLIERS for c in run) or "点" in run or "." in run:
        if run == "十" and after[:1] in ("分", "几", "多", "来"):
            return None  # 十分 (very), 十几 (a dozen or so)
        if _ADJACENT_CN_DIGITS.search(run.split("点")[0]):
            return None  # 三三千五 (张三 + 三千五), 两三千 (a rough guess): not one cardinal
        value = parse_cn_cardinal(run)
        return None if value is None else format_decimal(value)
    digits = cn_digit_string(run)
    if digits is None:
        return None
    if len(digits) >= 3:
        return digits
    if all(c in _SMALL_DIGITS for c in run) and _UNIT_AFTER.match(after):
        return digits  # 三块 / 两个月 / 一月; never 一下, never the 三 of 张三
    return None


_ZH_RUN_SINGLE = re.compile(rf"[{_DIGIT_CHARS}十][{_NUM_CHARS}]*(?:[点.][{_DIGIT_CHARS}]+[万亿千]?)?")


# "转给张三两千": the run "三两千" is not a number, but "两千" after the name's numeral is. Only a
# single numeral after a non-numeral (the surname) is skipped, and only before a multiplier.
_ZH_AFTER_NAME = re.compile(
    rf"(?<=[^{_NUM_CHARS}点.][一二三四五六七八九])[{_DIGIT_CHARS}十][{_NUM_CHARS}]*"
    rf"(?:[点.][{_DIGIT_CHARS}]+[万亿千]?)?(?<=[十百千万亿{_DIGIT_CHARS}])"
)

# 三块五 / 3块5毛: yuan and jiao said the colloquial way.
_KUAI_MAO = re.compile(
    r"(?<![\d.])(\d+)块([1-9一二三四五六七八九])(?:毛|角)?(?![\d零一二三四五六七八九十百千万])"
)


def _kuai_mao(m: re.Match[str]) -> str:
    return f"{m.group(1)}.{CN_DIGITS.get(m.group(2), m.group(2))}块"


# --- English numerals ------------------------------------------------------------------------
_EN_WORD = r"(?:zero|oh|o|nought|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|" \
    r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|" \
    r"eighty|ninety|hundred|thousand|grand|million|billion|double|triple|point|and|a)"
_EN_RUN = re.compile(rf"\b{_EN_WORD}(?:[\s-]+{_EN_WORD})*\b")
_EN_CURRENCY_AFTER = re.compile(r"\s*(?:yuan|rmb|kuai|bucks?|dollars?|k\b)")


def _en_number(m: re.Match[str]) -> str | None:
    words = re.split(r"[\s-]+", m.group())
    i, j = 0, len(words)
    if words[0] in ("four", "4") and m.string[: m.start()].endswith(("last ", "final ")):
        i = 1  # "last four one two three four": "four" counts digits, it is not one of them
    # Trim words that cannot start or end a number ("and", "a", a lone "oh", a bare "thousand"
    # whose number was said in digits: "2 thousand" is the next pass's business).
    while i < j and words[i] in _NOT_A_START and not _starts_number(words[i:j]):
        i += 1
    while j > i and words[j - 1] in ("and", "point", "a", "double", "triple"):
        j -= 1
    core = words[i:j]
    if not core:
        return None
    if len(core) == 1 and core[0] == "one" and not _EN_CURRENCY_AFTER.match(m.string[m.end() :]):
        return None  # "this one", "no one": not an amount
    digits = en_number([w for w in core if w != "and"] if _has_scale(core) else core)
    if digits is None:
        return None
    return " ".join([*words[:i], digits, *words[j:]])


_NOT_A_START = frozenset(
    {"and", "point", "a", "oh", "o", "hundred", "thousand", "grand", "million", "billion"}
)


def _starts_number(words: list[str]) -> bool:
    if len(words) < 2:
        return False
    if words[0] == "a":
        return words[1] in ("hundred", "thousand", "million", "grand")
    return words[0] in ("oh", "o") and words[1] in EN_DIGIT_WORDS


def _has_scale(words: list[str]) -> bool:
    return any(w in ("hundred", "thousand", "million", "billion", "grand") for w in words)


_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])")
_SCALED = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s?(k|grand|thousand|million|w)(?![a-z])")
_GROUPS = re.compile(r"(?<![\d.])\d+(?:[ -]\d+)+(?![\d.])")
_SCALES = {"k": 1000, "grand": 1000, "thousand": 1000, "million": 1_000_000, "w": 10_000}


def _scaled(m: re.Match[str]) -> str | None:
    value = Decimal(m.group(1)) * _SCALES[m.group(2)]
    return format_decimal(value)


def _groups(m: re.Match[str]) -> str | None:
    groups = re.split(r"[ -]", m.group())
    total = sum(len(g) for g in groups)
    if (len(groups) >= 3 or total >= 8) and all(len(g) >= 2 for g in groups[:-1]):
        return "".join(groups)
    return None


_SPACES = re.compile(r"\s+")
_EDGE_SPACES = re.compile(r"^ +| +$")
_CJK_SPACE = re.compile(
    r"(?<=[\u3400-\u4dbf\u4e00-\u9fff\d]) (?=[\u3400-\u4dbf\u4e00-\u9fff])|"
    r"(?<=[\u3400-\u4dbf\u4e00-\u9fff]) (?=\d)"
)


def normalize(text: str, lang: Lang | None = None) -> Normalized:
    """Normalise ``text`` (see the module docstring). ``lang`` defaults to :func:`detect_lang`."""
    chars = _fold(text)
    _simplify(chars)
    lang = lang or detect_lang(chars.text)
    _remove_fillers(chars)
    chars.rewrite(_SPACES, lambda m: " " if m.group() != " " else None)
    chars.rewrite(_ZH_RUN, _zh_digit_groups)
    chars.rewrite(_ZH_RUN_SINGLE, _zh_number)
    chars.rewrite(_ZH_AFTER_NAME, _zh_number)
    chars.rewrite(_KUAI_MAO, _kuai_mao)
    chars.rewrite(_EN_RUN, _en_number)
    chars.rewrite(_THOUSANDS, lambda m: _thousands_repl(text, chars, m))
    chars.rewrite(_SCALED, _scaled)
    chars.rewrite(_GROUPS, _groups)
    chars.rewrite(_CJK_SPACE, lambda m: "")
    chars.rewrite(_EDGE_SPACES, lambda m: "")
    return Normalized(
        original=text,
        text=chars.text,
        starts=tuple(chars.starts),
        ends=tuple(chars.ends),
        lang=lang,
    )


def _thousands_repl(original: str, chars: _Chars, m: re.Match[str]) -> str | None:
    for i in range(m.start(), m.end()):
        if m.string[i] == "," and chars.ends[i] - chars.starts[i] == 1 and original[chars.starts[i]] != ",":
            return None  # a Chinese comma "，" is a pause between two numbers, not a separator
    return m.group().replace(",", "")

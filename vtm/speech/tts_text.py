"""Text as the synthesiser must receive it: digits grouped, Mandarin as tone-numbered pinyin.

espeak-ng's ``cmn`` voice reads Chinese characters but speaks the tone digits of its own
transliteration aloud ("de five"); its ``cmn-latn-pinyin`` voice reads pinyin with tone numbers
correctly. So Mandarin text is converted here with pypinyin, with a small phrase list for the
polyphones a bank kiosk says every day (银行 yin2 hang2, 还款 huan2 kuan3, ...), which wins
over pypinyin's own choice.

Digit strings of five or more (card and account numbers) are read one digit at a time in
groups of four with a pause between groups; shorter numbers are read as numbers.

Usage::

    speech_text("卡号 6222021234567890 已挂失", "zh")
    # 'ka3 hao4, liu4 er4 er4 er4, ling2 er4 yao1 er4, ... yi3 gua4 shi1'
"""

from __future__ import annotations

import re

__all__ = ["POLYPHONES", "group_digits", "speech_text", "zh_pinyin"]

# Phrase -> tone-numbered syllables. Checked longest first, before pypinyin.
POLYPHONES: dict[str, tuple[str, ...]] = {
    "银行卡": ("yin2", "hang2", "ka3"),
    "银行": ("yin2", "hang2"),
    "行长": ("hang2", "zhang3"),
    "行号": ("hang2", "hao4"),
    "支行": ("zhi1", "hang2"),
    "分行": ("fen1", "hang2"),
    "还款": ("huan2", "kuan3"),
    "还清": ("huan2", "qing1"),
    "归还": ("gui1", "huan2"),
    "还有": ("hai2", "you3"),
    "转账": ("zhuan3", "zhang4"),
    "账单": ("zhang4", "dan1"),
    "对账单": ("dui4", "zhang4", "dan1"),
    "重新": ("chong2", "xin1"),
    "重置": ("chong2", "zhi4"),
    "密码": ("mi4", "ma3"),
    "单笔": ("dan1", "bi3"),
    "长按": ("chang2", "an4"),
    "长期": ("chang2", "qi1"),
    "便于": ("bian4", "yu2"),
    "冻结": ("dong4", "jie2"),
}

_ZH_DIGITS = "零幺二三四五六七八九"  # 幺 for 1: the way digit strings are read aloud in Mandarin
_EN_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_LONG_DIGITS = re.compile(r"\d(?:[\d ]*\d)?")
_ZH_PUNCT = str.maketrans(
    {"，": ",", "。": ".", "！": "!", "？": "?", "；": ";", "：": ",", "、": ",", "（": ",", "）": ","}
)
_MASK = re.compile(r"(?:尾号|ending(?: in)?)?\s*[*＊]+\s*")
_TAIL = re.compile(r"(尾号|ending(?: in)?)\s*(\d{2,})")
_YEAR = re.compile(r"(\d{4})年")


def group_digits(digits: str, lang: str, size: int = 4) -> str:
    """``'6222021234'`` -> ``'六二二二，零二幺二，三四'`` (en: ``'six two two two, zero two ...'``)."""
    groups = [digits[i : i + size] for i in range(0, len(digits), size)]
    if lang == "zh":
        return "，".join("".join(_ZH_DIGITS[int(d)] for d in g) for g in groups)
    return ", ".join(" ".join(_EN_DIGITS[int(d)] for d in g) for g in groups)


def _numbers(text: str, lang: str) -> str:
    def replace(match: re.Match[str]) -> str:
        digits = match.group(0).replace(" ", "")
        if len(digits) >= 5 or (digits.startswith("0") and len(digits) > 1):
            return f" {group_digits(digits, lang)} " if lang == "en" else f"，{group_digits(digits, lang)}，"
        if lang == "zh":
            import cn2an

            spoken = str(cn2an.an2cn(digits, "low"))
            return "两" + spoken[1:] if spoken.startswith("二") and len(spoken) > 1 else spoken
        return digits  # espeak-ng reads short English numbers well

    return _LONG_DIGITS.sub(replace, text)


def zh_pinyin(text: str) -> str:
    """Chinese characters -> tone-numbered pinyin (neutral tone 5), phrases from :data:`POLYPHONES` first."""
    from pypinyin import Style, lazy_pinyin

    words: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            chunk = "".join(pending)
            words.extend(lazy_pinyin(chunk, style=Style.TONE3, neutral_tone_with_five=True))
            pending.clear()

    phrases = sorted(POLYPHONES, key=len, reverse=True)
    i = 0
    while i < len(text):
        phrase = next((p for p in phrases if text.startswith(p, i)), None)
        if phrase:
            flush()
            words.extend(POLYPHONES[phrase])
            i += len(phrase)
        else:
            pending.append(text[i])
            i += 1
    flush()
    spoken = " ".join(w.strip() for w in words if w.strip())
    spoken = spoken.translate(_ZH_PUNCT)
    return re.sub(r"\s+([,.!?;])", r"\1", re.sub(r"\s+", " ", spoken)).strip()


def speech_text(text: str, lang: str) -> str:
    """What to feed espeak-ng for ``text`` in ``lang`` (``zh`` or ``en``)."""
    # Masked numbers and "ending in" tails are digit strings, read one digit at a time.
    text = _MASK.sub("尾号" if lang == "zh" else " ending ", text)
    pause = "，" if lang == "zh" else ", "
    text = _TAIL.sub(lambda m: f"{m.group(1)}{pause}{group_digits(m.group(2), lang)}{pause}", text)
    if lang == "zh":
        text = _YEAR.sub(lambda m: "".join("零一二三四五六七八九"[int(d)] for d in m.group(1)) + "年", text)
    text = _numbers(text, lang)
    if lang == "zh":
        return zh_pinyin(text)
    return re.sub(r"\s+", " ", text).strip()

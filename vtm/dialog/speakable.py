"""Values said aloud: amounts in words, dates and times, digits in groups.

The read-back must be unambiguous when heard, so amounts are spoken in words (两千零五十元 /
two thousand and fifty yuan) and card numbers digit by digit, in groups of four.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import cn2an
from num2words import num2words

from vtm.dialog.prompts import Lang

__all__ = ["amount_words", "money_text", "say_date", "say_datetime"]


def _zh_integer(value: int) -> str:
    text = str(cn2an.an2cn(str(value), "low"))
    # Spoken Mandarin says 两千 / 两万 / 两百 at the head of a number, not 二千.
    if text.startswith("二") and len(text) > 1 and text[1] in "千万亿百":
        text = "两" + text[1:]
    return text


def amount_words(amount: Decimal, lang: Lang) -> str:
    """``Decimal('2050.5')`` -> ``两千零五十元五角`` / ``two thousand and fifty yuan fifty fen``."""
    amount = amount.quantize(Decimal("0.01"))
    yuan = int(amount)
    fen_total = int((amount - yuan) * 100)
    jiao, fen = divmod(fen_total, 10)
    if lang == "zh":
        text = f"{_zh_integer(yuan)}元" if yuan or not fen_total else ""
        if jiao:
            text += f"{_zh_integer(jiao)}角"
        if fen:
            text += ("零" if yuan and not jiao else "") + f"{_zh_integer(fen)}分"
        return text if fen_total else text + "整"
    words = f"{num2words(yuan)} yuan" if yuan or not fen_total else ""
    if fen_total:
        words = f"{words} {num2words(fen_total)} fen".strip()
    return words


def money_text(amount: Decimal, lang: Lang) -> str:
    """Shown and spoken balance: ``12,345.60元`` / ``CNY 12,345.60``."""
    shown = f"{amount.quantize(Decimal('0.01')):,}"
    return f"{shown}元" if lang == "zh" else f"CNY {shown}"


def say_date(day: date, lang: Lang) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if lang == "zh" else day.strftime("%d %B %Y").lstrip("0")


def say_datetime(moment: datetime, lang: Lang) -> str:
    if lang == "zh":
        return f"{say_date(moment.date(), lang)}{moment.hour}点{moment.minute:02d}分"
    return f"{moment.strftime('%H:%M')} on {say_date(moment.date(), lang)}"

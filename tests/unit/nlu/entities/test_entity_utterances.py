"""Whole utterances as ASR hands them over: no punctuation, fillers, mixed scripts, several slots."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from vtm.nlu.entities import LexiconError, extract_entities, load_lexicon
from vtm.nlu.types import DateRange, SlotName

TODAY = date(2024, 5, 15)
LAST_3_MONTHS = DateRange(start=date(2024, 2, 16), end=date(2024, 5, 15))  # also "the past 90 days"
APRIL = DateRange(start=date(2024, 4, 1), end=date(2024, 4, 30))


def slots(text: str) -> list[tuple[str, object]]:
    return [(e.name.value, e.value) for e in extract_entities(text, None, TODAY)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "嗯那个给张三转两千块实时到账",
            [("payee_name", "张三"), ("amount", Decimal(2000)), ("arrival", "realtime")],
        ),
        (
            "我想转 two thousand 给张三",
            [("amount", Decimal(2000)), ("payee_name", "张三")],
        ),
        (
            "帮我给我妈转一万五到建行的卡",
            [("payee_alias", "mother"), ("amount", Decimal(15000)), ("payee_bank", "CCB")],
        ),
        (
            "轉賬兩千給李四工商銀行",
            [("amount", Decimal(2000)), ("payee_name", "李四"), ("payee_bank", "ICBC")],
        ),
        (
            "我的卡丢了尾号一二三四要临时挂失",
            [("card_last4", "1234"), ("loss_kind", "temporary")],
        ),
        (
            "打一下最近三个月的流水发到邮箱",
            [("date_range", LAST_3_MONTHS), ("delivery", "email")],
        ),
        (
            "就是我想查得是上个月的明细打印出来",
            [("date_range", APRIL), ("delivery", "print")],
        ),
        (
            "um transfer two thousand five hundred to John Smith at Bank of China",
            [("amount", Decimal(2500)), ("payee_name", "John Smith"), ("payee_bank", "BOC")],
        ),
        (
            "i lost my card ending in one two three four please block it temporarily",
            [("card_last4", "1234"), ("loss_kind", "temporary")],
        ),
        (
            "statement for the past 90 days by email",
            [("date_range", LAST_3_MONTHS), ("delivery", "email")],
        ),
        (
            "转5000到账号6222020212345679户名王芳",
            [("amount", Decimal(5000)), ("account_number", "6222020212345679"), ("payee_name", "王芳")],
        ),
        ("转账给张三2000", [("payee_name", "张三"), ("amount", Decimal(2000))]),
        ("转给张三两千", [("payee_name", "张三"), ("amount", Decimal(2000))]),
        ("我想给张三三千五", [("payee_name", "张三"), ("amount", Decimal(3500))]),
        ("给王五转五百块", [("payee_name", "王五"), ("amount", Decimal(500))]),
        ("send 2 thousand to my dad", [("amount", Decimal(2000)), ("payee_alias", "father")]),
        ("给他三块五", [("amount", Decimal("3.5"))]),
        ("can we do this in English", [("language", "en")]),
        ("我要挂失", []),
        ("", []),
        ("。。。", []),
    ],
)
def test_utterance_slots_in_order(text: str, expected: list[tuple[str, object]]) -> None:
    assert slots(text) == expected


def test_language_argument_does_not_change_what_is_found() -> None:
    zh = extract_entities("给张三转五百", "zh", TODAY)
    en = extract_entities("给张三转五百", "en", TODAY)
    assert [(e.name, e.value) for e in zh] == [(e.name, e.value) for e in en]
    assert {e.name for e in zh} == {SlotName.PAYEE_NAME, SlotName.AMOUNT}


def test_broken_lexicon_names_file_and_path(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[4] / "dialogs" / "nlu" / "lexicon"
    for name in ("banks.yaml", "payees.yaml", "choices.yaml"):
        (tmp_path / name).write_text((source / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "banks.yaml").write_text("banks:\n  ICBC: {zh: 工行}\n", encoding="utf-8")
    with pytest.raises(LexiconError) as excinfo:
        load_lexicon(tmp_path)
    message = str(excinfo.value)
    assert "banks.yaml" in message
    assert "banks.ICBC.en" in message


def test_custom_lexicon_is_used(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[4] / "dialogs" / "nlu" / "lexicon"
    for name in ("payees.yaml", "choices.yaml"):
        (tmp_path / name).write_text((source / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "banks.yaml").write_text(
        "banks:\n  XYZ: {zh: 测试银行, en: Test Bank, aliases: [测试银行, test bank]}\n", encoding="utf-8"
    )
    lexicon = load_lexicon(tmp_path)
    found = extract_entities("转到测试银行", "zh", TODAY, lexicon=lexicon)
    assert [(e.name, e.value) for e in found] == [(SlotName.PAYEE_BANK, "XYZ")]

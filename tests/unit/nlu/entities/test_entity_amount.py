"""Amounts: spoken and written, Chinese and English, and the hostile ones flagged invalid."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from vtm.nlu.types import Entity, InvalidReason

Entities = Callable[[str, str], list[Entity]]
Values = Callable[[str, str], list[object]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("转五百", "500"),
        ("给我妈转两千", "2000"),
        ("三千块", "3000"),
        ("三点五万", "35000"),
        ("五百元整", "500"),
        ("1.5万", "15000"),
        ("一万五", "15000"),
        ("两千三", "2300"),
        ("两千三百块钱", "2300"),
        ("转账一千零五元", "1005"),
        ("¥300", "300"),
        ("￥３００", "300"),
        ("３００元", "300"),
        ("转二万五千元", "25000"),
        ("汇款三千元给李四", "3000"),
        ("给张三转三百块钱", "300"),
        ("转0.5元", "0.5"),
        ("转 5 块", "5"),
        ("一百块", "100"),
        ("转一百二十元", "120"),
        ("转十块", "10"),
        ("2万块", "20000"),
        ("两万块钱", "20000"),
        ("嗯那个转五百吧", "500"),
        ("不对是五百", "500"),
        ("五百", "500"),
        ("轉賬兩千", "2000"),
        ("我想转 two thousand 给张三", "2000"),
        ("我想转两千给张三得", "2000"),
        ("帮我转两千块到工行", "2000"),
        ("转3.5万元", "35000"),
        ("一亿元", "100000000"),
        ("300 bucks", "300"),
        ("send 2k to my mom", "2000"),
        ("2,500 yuan", "2500"),
        ("two thousand five hundred yuan", "2500"),
        ("transfer two thousand five hundred to John", "2500"),
        ("send 1.5k to my mom", "1500"),
        ("pay 99.50 yuan", "99.50"),
        ("rmb 800", "800"),
        ("transfer 50000 yuan", "50000"),
        ("send three hundred bucks", "300"),
        ("a thousand yuan", "1000"),
        ("fifteen hundred yuan", "1500"),
        ("make it 600", "600"),
        ("I want to transfer 2,500 to my dad", "2500"),
        ("um transfer uh five hundred yuan", "500"),
        ("TRANSFER 700 YUAN", "700"),
        ("2k吧", "2000"),
        ("大概三千二", "3200"),
        ("不是两千 是两千五", "2500"),
        ("我说的是一万不是一千", "10000"),
        ("I said ten thousand not one thousand", "10000"),
        ("not two thousand, two thousand five hundred", "2500"),
        ("I sent two thousand to Li Si", "2000"),
        ("give my daughter five hundred", "500"),
        ("转给我闺女李红梅五百", "500"),
    ],
)
def test_amount_is_read_as_decimal_yuan(values: Values, text: str, expected: str) -> None:
    assert values(text, "amount") == [Decimal(expected)]


@pytest.mark.parametrize(
    ("text", "expected", "reason"),
    [
        ("转负五百块", "-500", InvalidReason.NEGATIVE),
        ("-300元", "-300", InvalidReason.NEGATIVE),
        ("transfer minus 200 yuan", "-200", InvalidReason.NEGATIVE),
        ("转一万亿元", "1000000000000", InvalidReason.TOO_LARGE),
        ("1000000000000 yuan", "1000000000000", InvalidReason.TOO_LARGE),
        ("转两亿元", "200000000", InvalidReason.TOO_LARGE),
        ("0元", "0", InvalidReason.ZERO),
        ("转0.001元", "0.001", InvalidReason.TOO_PRECISE),
    ],
)
def test_hostile_amount_is_reported_invalid_not_dropped(
    entities: Entities, text: str, expected: str, reason: InvalidReason
) -> None:
    found = entities(text, "amount")
    assert [e.value for e in found] == [Decimal(expected)]
    assert found[0].valid is False
    assert found[0].reason is reason


@pytest.mark.parametrize(
    "text",
    [
        "查一下上个月的流水",
        "我要挂失",
        "最近三个月",
        "尾号1234",
        "卡号6222020212345679",
        "给张三",
        "this one please",
        "三月五号",
        "the past 90 days",
        "一下",
        "十分感谢",
        "my phone is 13812345678",
        "statement for 2023",
        "我要三张卡",
        "拜拜",
    ],
)
def test_no_amount_where_no_money_is_said(values: Values, text: str) -> None:
    assert values(text, "amount") == []


def test_amount_span_points_into_the_original_words(entities: Entities) -> None:
    text = "我想轉 兩千塊 給張三"
    (amount,) = entities(text, "amount")
    assert amount.text == "兩千塊"
    assert text[amount.start : amount.end] == "兩千塊"


def test_number_without_money_words_has_the_lowest_confidence(entities: Entities) -> None:
    (guess,) = entities("大概三千二", "amount")
    (cued,) = entities("转三千二", "amount")
    assert guess.confidence < cued.confidence


def test_bare_number_is_an_amount_with_lower_confidence(entities: Entities) -> None:
    (bare,) = entities("五百", "amount")
    (said,) = entities("五百块", "amount")
    assert bare.confidence < said.confidence

"""Statement periods resolved against today = 2024-05-15 (a Wednesday). Dates worked out by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from vtm.nlu.types import DateRange, Entity, InvalidReason

Entities = Callable[[str, str], list[Entity]]


def d(text: str) -> date:
    return date.fromisoformat(text)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("查一下上个月的流水", "2024-04-01", "2024-04-30"),
        ("上月", "2024-04-01", "2024-04-30"),
        ("上上个月的", "2024-03-01", "2024-03-31"),
        ("本月", "2024-05-01", "2024-05-15"),
        ("这个月的明细", "2024-05-01", "2024-05-15"),
        ("最近三个月", "2024-02-16", "2024-05-15"),
        ("近半年", "2023-11-16", "2024-05-15"),
        ("最近30天", "2024-04-16", "2024-05-15"),
        ("过去一周", "2024-05-09", "2024-05-15"),
        ("上周", "2024-05-06", "2024-05-12"),
        ("上个礼拜的流水", "2024-05-06", "2024-05-12"),
        ("本周", "2024-05-13", "2024-05-15"),
        ("今年", "2024-01-01", "2024-05-15"),
        ("去年的流水", "2023-01-01", "2023-12-31"),
        ("今年一月到三月", "2024-01-01", "2024-03-31"),
        ("一月到三月", "2024-01-01", "2024-03-31"),
        ("去年十二月", "2023-12-01", "2023-12-31"),
        ("十二月的账单", "2023-12-01", "2023-12-31"),
        ("三月份", "2024-03-01", "2024-03-31"),
        ("二零二四年三月", "2024-03-01", "2024-03-31"),
        ("2023年2月", "2023-02-01", "2023-02-28"),
        ("从三月一号到三月十五号", "2024-03-01", "2024-03-15"),
        ("三月一号到十五号", "2024-03-01", "2024-03-15"),
        ("三月至今", "2024-03-01", "2024-05-15"),
        ("去年十一月到今年二月", "2023-11-01", "2024-02-29"),
        ("十一月到二月", "2023-11-01", "2024-02-29"),
        ("昨天", "2024-05-14", "2024-05-14"),
        ("打印今年以來的流水", "2024-01-01", "2024-05-15"),
        ("上個月", "2024-04-01", "2024-04-30"),
        ("嗯那个最近三个月的吧", "2024-02-16", "2024-05-15"),
        ("last month", "2024-04-01", "2024-04-30"),
        ("statement for this month", "2024-05-01", "2024-05-15"),
        ("last week", "2024-05-06", "2024-05-12"),
        ("this year", "2024-01-01", "2024-05-15"),
        ("last year", "2023-01-01", "2023-12-31"),
        ("the past 90 days", "2024-02-16", "2024-05-15"),
        ("last 3 months", "2024-02-16", "2024-05-15"),
        ("last three months", "2024-02-16", "2024-05-15"),
        ("the past two weeks", "2024-05-02", "2024-05-15"),
        ("from march to may", "2024-03-01", "2024-05-15"),
        ("between january and march", "2024-01-01", "2024-03-31"),
        ("since january", "2024-01-01", "2024-05-15"),
        ("in march", "2024-03-01", "2024-03-31"),
        ("March 2023", "2023-03-01", "2023-03-31"),
        ("march of last year", "2023-03-01", "2023-03-31"),
        ("december", "2023-12-01", "2023-12-31"),
        ("from november to february", "2023-11-01", "2024-02-29"),
        ("yesterday", "2024-05-14", "2024-05-14"),
        ("statement for April please", "2024-04-01", "2024-04-30"),
        ("from march 1st to march 15th", "2024-03-01", "2024-03-15"),
        ("就上礼拜的吧", "2024-05-06", "2024-05-12"),
        ("这礼拜的明细", "2024-05-13", "2024-05-15"),
        ("半年的", "2023-11-16", "2024-05-15"),
        ("九十天的", "2024-02-16", "2024-05-15"),
        ("帮我打个三个月的银行流水", "2024-02-16", "2024-05-15"),
        ("2023年全年的流水", "2023-01-01", "2023-12-31"),
        ("上个季度", "2024-01-01", "2024-03-31"),
        ("本季度", "2024-04-01", "2024-05-15"),
        ("last quarter", "2024-01-01", "2024-03-31"),
        ("since the start of the year", "2024-01-01", "2024-05-15"),
        ("I need a year of statements", "2023-05-16", "2024-05-15"),
        ("the previous financial year", "2023-01-01", "2023-12-31"),
        ("a wrong charge two months ago", "2024-03-01", "2024-03-31"),
        ("statement for 2023", "2023-01-01", "2023-12-31"),
        ("今年上半年", "2024-01-01", "2024-05-15"),
        ("去年下半年", "2023-07-01", "2023-12-31"),
        ("下半年的流水", "2023-07-01", "2023-12-31"),
        ("the first half of last year", "2023-01-01", "2023-06-30"),
    ],
)
def test_period_resolved_against_today(entities: Entities, text: str, start: str, end: str) -> None:
    found = entities(text, "date_range")
    assert [e.value for e in found] == [DateRange(start=d(start), end=d(end))]
    assert found[0].valid


@pytest.mark.parametrize(
    "text",
    ["今年十二月", "今年六月到八月", "december this year", "2025年1月", "今年下半年"],
)
def test_period_wholly_in_the_future_is_flagged(entities: Entities, text: str) -> None:
    (period,) = entities(text, "date_range")
    assert period.valid is False
    assert period.reason is InvalidReason.FUTURE


def test_period_ending_before_it_starts_is_flagged(entities: Entities) -> None:
    (period,) = entities("2024年5月到2024年3月", "date_range")
    assert period.reason is InvalidReason.REVERSED


@pytest.mark.parametrize("text", ["may I have a statement", "我要挂失", "转五百给张三", "三个人"])
def test_no_period_where_none_is_said(entities: Entities, text: str) -> None:
    assert entities(text, "date_range") == []


def test_today_alone_is_a_period_with_low_confidence(entities: Entities) -> None:
    (period,) = entities("今天就办这些", "date_range")
    assert period.value == DateRange(start=date(2024, 5, 15), end=date(2024, 5, 15))
    assert period.confidence < 1.0


def test_period_span_is_the_original_words(entities: Entities) -> None:
    text = "我要打 今年一月到三月 的流水"
    (period,) = entities(text, "date_range")
    assert period.text == "今年一月到三月"

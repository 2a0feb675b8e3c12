"""Forward periods are heard and refused as future, not ignored."""

from __future__ import annotations

from datetime import date

import pytest

from vtm.nlu.entities import extract_entities
from vtm.nlu.types import DateRange, InvalidReason, SlotName

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "lang", "start", "end"),
    [
        ("打下个月的流水", "zh", date(2026, 12, 1), date(2026, 12, 31)),
        ("statement for next month", "en", date(2026, 12, 1), date(2026, 12, 31)),
        ("下周的明细", "zh", date(2026, 11, 30), date(2026, 12, 6)),
        ("next year please", "en", date(2027, 1, 1), date(2027, 12, 31)),
    ],
)
def test_a_forward_period_is_reported_invalid_as_future(text: str, lang: str, start: date, end: date) -> None:
    dates = [e for e in extract_entities(text, lang, TODAY) if e.name is SlotName.DATE_RANGE]
    assert len(dates) == 1
    assert dates[0].valid is False
    assert dates[0].reason is InvalidReason.FUTURE
    assert dates[0].value == DateRange(start=start, end=end)


def test_the_second_half_of_the_year_is_not_taken_for_a_forward_period() -> None:
    dates = [e for e in extract_entities("下半年的流水", "zh", TODAY) if e.name is SlotName.DATE_RANGE]
    assert len(dates) == 1
    assert dates[0].valid is True
    assert isinstance(dates[0].value, DateRange)
    assert dates[0].value.start == date(2026, 7, 1)

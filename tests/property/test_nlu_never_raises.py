"""Whatever the microphone hears, understanding never raises and stays consistent."""

from __future__ import annotations

from datetime import date

from hypothesis import example, given, settings
from hypothesis import strategies as st

from vtm.nlu.entities import extract_entities
from vtm.nlu.normalize import normalize

# Arbitrary Unicode, plus text built from the characters the rules care about, so the number,
# date and name paths are exercised on odd combinations rather than only on random noise.
_RULE_CHARS = (
    "零〇一二三四五六七八九十百千万亿两幺洞点负年月号日天周个元块钱给转到从至尾号卡身份证手机xX ,.-¥"
)
_WORDS = [
    "two", "thousand", "point", "double", "oh", "and", "a", "k", "last", "four", "to", "from", "may",
    "march", "past", "days", "minus", "yuan", "ending", "in", "card", "id", "phone", "John", "my", "mom",
]  # fmt: skip
_texts = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=_RULE_CHARS + "0123456789", max_size=60),
    st.lists(st.one_of(st.sampled_from(_WORDS), st.integers(0, 10**20).map(str)), max_size=15).map(" ".join),
)


@settings(max_examples=600, deadline=None)
@given(text=_texts, today=st.dates(min_value=date(1901, 1, 1), max_value=date(9998, 12, 31)))
@example(text="10.0", today=date(2000, 1, 1))  # once crashed the year check of bare amounts
@example(text="二十块五毛", today=date(2026, 11, 23))
def test_extract_entities_never_raises_and_spans_point_into_the_input(text: str, today: date) -> None:
    for entity in extract_entities(text, None, today):
        assert 0 <= entity.start <= entity.end <= len(text)
        assert entity.text == text[entity.start : entity.end]
        assert entity.valid == (entity.reason is None)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=80))
def test_normalize_is_deterministic_and_maps_every_character(text: str) -> None:
    first, second = normalize(text), normalize(text)
    assert first == second
    assert len(first.starts) == len(first.ends) == len(first.text)
    assert all(0 <= s < e <= len(text) for s, e in zip(first.starts, first.ends, strict=True))

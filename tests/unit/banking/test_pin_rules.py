"""The PIN rules the core, the dialog and the gate share: examples for each weakness, and properties."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from vtm.banking.pin_rules import (
    PinWeakness,
    birth_date_forms,
    new_pin_weaknesses,
    pin_format_ok,
    pin_weaknesses,
)

BORN = date(1980, 12, 31)
pins = st.text(alphabet="0123456789", min_size=6, max_size=6)
days = st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31))


def _steps(pin: str) -> set[int]:
    return {int(b) - int(a) for a, b in pairwise(pin)}


@pytest.mark.parametrize("pin", ["123456", "000000", "999999"])
def test_six_ascii_digits_are_a_well_formed_pin(pin: str) -> None:
    assert pin_format_ok(pin)


@pytest.mark.parametrize("pin", ["", "12345", "1234567", "12345a", "１２３４５６", "١٢٣٤٥٦", " 12345"])
def test_anything_else_is_not_a_pin(pin: str) -> None:
    assert not pin_format_ok(pin)
    with pytest.raises(ValueError, match="six digits"):
        pin_weaknesses(pin, None)


@pytest.mark.parametrize(
    ("pin", "expected"),
    [
        ("111111", {PinWeakness.REPEATED}),
        ("121212", {PinWeakness.REPEATED}),
        ("100000", {PinWeakness.REPEATED}),
        ("123123", {PinWeakness.REPEATED}),
        ("123456", {PinWeakness.SEQUENTIAL}),
        ("012345", {PinWeakness.SEQUENTIAL}),
        ("654321", {PinWeakness.SEQUENTIAL}),
        ("543210", {PinWeakness.SEQUENTIAL}),
        ("801231", {PinWeakness.BIRTH_DATE}),  # YYMMDD
        ("123180", {PinWeakness.BIRTH_DATE}),  # MMDDYY (MMDD + YY)
        ("311280", {PinWeakness.BIRTH_DATE}),  # DDMMYY
        ("890123", set()),  # no wrap-around
        ("135790", set()),
        ("112233", set()),  # three distinct digits, not a repeated block
        ("802731", set()),
    ],
)
def test_each_weakness_is_named(pin: str, expected: set[PinWeakness]) -> None:
    assert pin_weaknesses(pin, BORN) == expected


def test_without_a_birth_date_on_file_the_birth_date_is_never_a_weakness() -> None:
    assert pin_weaknesses("801231", None) == frozenset()


def test_the_current_pin_again_is_named_beside_the_other_weaknesses() -> None:
    assert new_pin_weaknesses("135790", "135790", BORN) == {PinWeakness.SAME_AS_CURRENT}
    assert new_pin_weaknesses("111111", "111111", BORN) == {PinWeakness.SAME_AS_CURRENT, PinWeakness.REPEATED}
    assert new_pin_weaknesses("135790", "246802", BORN) == frozenset()


def test_weakness_names_are_the_stable_strings_the_pack_and_the_wire_use() -> None:
    assert {w.value for w in PinWeakness} == {"repeated", "sequential", "birth_date", "same_as_current"}


# Properties --------------------------------------------------------------------------------------
@given(pin=pins, born=st.none() | days)
def test_only_the_three_single_pin_weaknesses_are_ever_named(pin: str, born: date | None) -> None:
    assert pin_weaknesses(pin, born) <= {PinWeakness.REPEATED, PinWeakness.SEQUENTIAL, PinWeakness.BIRTH_DATE}


@given(digits=st.lists(st.sampled_from("0123456789"), min_size=1, max_size=2, unique=True), data=st.data())
def test_every_pin_of_at_most_two_digits_is_repeated(digits: list[str], data: st.DataObject) -> None:
    pin = "".join(data.draw(st.lists(st.sampled_from(digits), min_size=6, max_size=6)))
    assert PinWeakness.REPEATED in pin_weaknesses(pin, None)


@given(block=st.text(alphabet="0123456789", min_size=3, max_size=3))
def test_a_three_digit_block_written_twice_is_repeated(block: str) -> None:
    assert PinWeakness.REPEATED in pin_weaknesses(block * 2, None)


@given(start=st.integers(0, 4), descending=st.booleans())
def test_every_run_of_consecutive_digits_is_sequential(start: int, descending: bool) -> None:
    run = "".join(str(start + i) for i in range(6))
    assert PinWeakness.SEQUENTIAL in pin_weaknesses(run[::-1] if descending else run, None)


@given(pin=pins)
def test_sequential_means_each_step_is_plus_one_or_each_minus_one(pin: str) -> None:
    assert (PinWeakness.SEQUENTIAL in pin_weaknesses(pin, None)) == (_steps(pin) in ({1}, {-1}))


@given(born=days)
def test_every_spelling_of_the_birth_date_is_found(born: date) -> None:
    forms = birth_date_forms(born)
    assert {f"{born:%y%m%d}", f"{born:%m%d%y}", f"{born:%d%m%y}"} == forms
    for pin in forms:
        assert PinWeakness.BIRTH_DATE in pin_weaknesses(pin, born)


@given(pin=pins, born=days)
def test_birth_date_is_named_exactly_for_its_spellings(pin: str, born: date) -> None:
    assert (PinWeakness.BIRTH_DATE in pin_weaknesses(pin, born)) == (pin in birth_date_forms(born))


@given(current=pins, new=pins, born=st.none() | days)
def test_a_change_adds_only_same_as_current_and_only_when_equal(current: str, new: str, born: date | None) -> None:
    change = new_pin_weaknesses(current, new, born)
    assert change - {PinWeakness.SAME_AS_CURRENT} == pin_weaknesses(new, born)
    assert (PinWeakness.SAME_AS_CURRENT in change) == (current == new)


@given(digits=st.permutations("0123456789"))
def test_a_pin_of_six_distinct_digits_out_of_order_has_no_weakness_without_a_birth_date(digits: list[str]) -> None:
    pin = "".join(digits[:6])
    assume(_steps(pin) not in ({1}, {-1}))
    assert pin_weaknesses(pin, None) == frozenset()

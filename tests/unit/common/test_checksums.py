from datetime import date

import pytest

from vtm.common.checksums import (
    gb11643_check_char,
    gb11643_valid,
    id_birth_date,
    luhn_check_digit,
    luhn_valid,
)


@pytest.mark.parametrize(
    "number", ["79927398713", "4111111111111111", "6222020000000000018", "6217000000000000012"]
)
def test_known_good_numbers_pass_luhn(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize(
    "number", ["79927398710", "4111111111111112", "", "7", "6222 0200 0000 0000 018", "62220a"]
)
def test_wrong_or_malformed_numbers_fail_luhn(number: str) -> None:
    assert not luhn_valid(number)


def test_luhn_check_digit_completes_a_valid_number() -> None:
    assert luhn_check_digit("7992739871") == "3"
    for payload in ("622202000000000001", "62308800000000000", "1"):
        assert luhn_valid(payload + luhn_check_digit(payload))


def test_luhn_check_digit_rejects_non_digits() -> None:
    with pytest.raises(ValueError, match="digits"):
        luhn_check_digit("12a4")


def test_every_single_digit_error_is_caught_by_luhn() -> None:
    number = "6222020000000000018"
    for i in range(len(number)):
        for d in "0123456789":
            if d != number[i]:
                assert not luhn_valid(number[:i] + d + number[i + 1 :])


def test_gb11643_standard_example_has_x_check_char() -> None:
    # The example ID of GB 11643-1999 itself.
    assert gb11643_check_char("11010519491231002") == "X"
    assert gb11643_valid("11010519491231002X")
    assert gb11643_valid("11010519491231002x")


@pytest.mark.parametrize(
    "id_number",
    [
        "110105194912310021",  # wrong check char
        "11010519491231002",  # 17 chars
        "11010519491331002X",  # month 13: checksum would be fine, date is not
        "1101051949123100XX",
        "ABCDEF19491231002X",
    ],
)
def test_bad_resident_ids_are_rejected(id_number: str) -> None:
    assert not gb11643_valid(id_number)


def test_month_13_is_rejected_even_with_a_matching_check_char() -> None:
    body = "11010519491331002"
    assert not gb11643_valid(body + gb11643_check_char(body))


def test_birth_date_is_read_from_the_id() -> None:
    assert id_birth_date("11010519491231002X") == date(1949, 12, 31)
    assert id_birth_date("110105194902300021") is None  # 30 February
    assert id_birth_date("short") is None


def test_gb11643_check_char_needs_17_digits() -> None:
    with pytest.raises(ValueError, match="17"):
        gb11643_check_char("1234")

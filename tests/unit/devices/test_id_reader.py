"""ID-card reader simulator: checksum, validity and the holder's name from the bank."""

from __future__ import annotations

from datetime import date

import pytest

from vtm.common.checksums import gb11643_check_char
from vtm.devices import (
    IdCardData,
    IdCardExpired,
    IdCardReader,
    IdCardUnreadable,
    IdNumberInvalid,
    NoIdCard,
    SimulatedIdCardReader,
)
from vtm.devices.id_reader import UNKNOWN_HOLDER

TODAY = date(2026, 11, 23)
ELDER = "32040219500315123" + gb11643_check_char("32040219500315123")  # born 1950
WITH_X = "11010519491231002X"
YOUNG = "11010119900307001" + gb11643_check_char("11010119900307001")  # 33 at issue in 2023
YOUTH = "11010120000307001" + gb11643_check_char("11010120000307001")  # 23 at issue
CHILD = "44030620150101001" + gb11643_check_char("44030620150101001")
NAMES = {ELDER: "张三", WITH_X: "李四"}


@pytest.fixture
def reader() -> SimulatedIdCardReader:
    return SimulatedIdCardReader(lookup=NAMES.get, today=lambda: TODAY)


def test_simulator_honours_the_driver_protocol(reader: SimulatedIdCardReader) -> None:
    assert isinstance(reader, IdCardReader)


def test_scan_reads_name_number_validity_and_photo(reader: SimulatedIdCardReader) -> None:
    reader.present(ELDER)
    data = reader.scan()
    assert isinstance(data, IdCardData)
    assert data.name == "张三"
    assert data.id_number == ELDER
    assert data.valid_from == date(2023, 11, 23)
    assert data.valid_to is None  # 73 at issue: long-term
    assert data.valid_on(TODAY)
    assert data.photo_id.startswith("idphoto-")
    assert ELDER not in data.photo_id


def test_the_printed_id_data_is_masked(reader: SimulatedIdCardReader) -> None:
    reader.present(ELDER)
    data = reader.scan()
    shown = f"{data!r} {data} {[data]}"
    assert ELDER not in shown
    assert "张三" not in shown
    assert "3204**********" in shown
    assert "张*" in shown


def test_lower_case_x_is_read_as_x(reader: SimulatedIdCardReader) -> None:
    reader.present(WITH_X.lower())
    data = reader.scan()
    assert data.id_number == WITH_X
    assert data.name == "李四"


@pytest.mark.parametrize(("id_number", "years"), [(YOUNG, 20), (YOUTH, 10), (CHILD, 5)])
def test_validity_follows_the_holders_age(reader: SimulatedIdCardReader, id_number: str, years: int) -> None:
    reader.present(id_number)
    data = reader.scan()
    assert data.valid_to == date(2023 + years, 11, 23)


def test_a_person_unknown_to_the_bank_still_has_a_readable_card(reader: SimulatedIdCardReader) -> None:
    reader.present(YOUNG)
    assert reader.scan().name == UNKNOWN_HOLDER


def test_a_wrong_check_character_is_an_error(reader: SimulatedIdCardReader) -> None:
    wrong = ELDER[:17] + ("0" if ELDER[17] != "0" else "1")
    reader.present(wrong)
    with pytest.raises(IdNumberInvalid) as caught:
        reader.scan()
    assert wrong not in str(caught.value.context)


def test_an_expired_card_is_an_error(reader: SimulatedIdCardReader) -> None:
    reader.present(ELDER, expired=True)
    with pytest.raises(IdCardExpired) as caught:
        reader.scan()
    assert caught.value.context["valid_to"] == "2026-10-24"
    assert not caught.value.retry_safe


@pytest.mark.parametrize("bad", ["12345", "32040219501315123X", "3204021950031512ZZ"])
def test_something_that_is_no_resident_id_is_unreadable(reader: SimulatedIdCardReader, bad: str) -> None:
    reader.present(bad)
    with pytest.raises(IdCardUnreadable):
        reader.scan()


def test_each_presented_card_is_scanned_once(reader: SimulatedIdCardReader) -> None:
    with pytest.raises(NoIdCard):
        reader.scan()
    reader.present(ELDER)
    reader.scan()
    with pytest.raises(NoIdCard):
        reader.scan()
    assert reader.scans == 1

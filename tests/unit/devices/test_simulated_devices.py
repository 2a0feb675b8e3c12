"""The simulated device set driven by script commands, as the terminal simulator uses it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from vtm.devices import (
    CardReaderState,
    CardSlotBusy,
    Devices,
    NothingToTake,
    PinEntryStatus,
    PinFormatError,
    PinPurpose,
    SimulatedDevices,
    parse_device_command,
)

CARD = "6222020200001234"
ID_NUMBER = "320402195003151237"


@pytest.fixture
def devices(tmp_path: Path) -> SimulatedDevices:
    return Devices.simulated(
        tmp_path / "printer",
        id_lookup={ID_NUMBER: "张三"}.get,
        today=lambda: date(2026, 11, 23),
        clock=lambda: datetime(2026, 11, 23, 9, 30, tzinfo=UTC),
    )


def test_a_scripted_card_loss_session_drives_every_device(devices: SimulatedDevices) -> None:
    for line in ["insert_card 6222020200001234", "pin 123456", "scan_id 320402195003151237", "face pass"]:
        devices.apply(parse_device_command(line))
    assert devices.card_reader.inserted() == CARD
    entry = devices.pin_pad.request_pin(PinPurpose.AUTHENTICATE)
    assert entry.pin is not None
    assert entry.pin.reveal() == "123456"
    identity = devices.id_reader.scan()
    assert identity.name == "张三"
    assert devices.face.request_consent()
    assert devices.face.capture_and_match(identity.photo_id).score > 0.9
    receipt = devices.printer.print_receipt(["挂失回执", "卡号 6222 **** **** 1234"], "zh")
    assert receipt.is_file()
    devices.apply(parse_device_command("take_receipt"))
    devices.card_reader.eject()
    devices.apply(parse_device_command("take_card"))
    assert devices.card_reader.state is CardReaderState.EMPTY
    assert devices.card_reader.taken()


def test_silence_and_pin_cancel_reach_the_right_place(devices: SimulatedDevices) -> None:
    devices.apply(parse_device_command("silence 8"))
    devices.apply(parse_device_command("pin_cancel"))
    assert devices.pin_pad.request_pin(PinPurpose.RECONFIRM).status is PinEntryStatus.CANCELLED


def test_impossible_customer_actions_surface_as_device_errors(devices: SimulatedDevices) -> None:
    devices.apply(parse_device_command("insert_card 6222020200001234"))
    with pytest.raises(CardSlotBusy):
        devices.apply(parse_device_command("insert_card 6222020200001234"))
    with pytest.raises(NothingToTake):
        devices.apply(parse_device_command("take_receipt"))
    with pytest.raises(PinFormatError):
        devices.apply(parse_device_command("pin 1234"))  # the parser allows 4-12, the pad wants 6


def test_the_bundle_is_usable_through_the_protocols_alone(devices: SimulatedDevices) -> None:
    kiosk_view: Devices = devices
    assert kiosk_view.card_reader.inserted() is None
    assert kiosk_view.pin_pad.request_pin(PinPurpose.AUTHENTICATE).status is PinEntryStatus.TIMED_OUT

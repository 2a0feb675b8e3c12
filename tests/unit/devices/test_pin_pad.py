"""PIN pad simulator: entered, cancelled or timed out, and the digits never show."""

from __future__ import annotations

import logging

import pytest

from vtm.common.masking import MaskingFilter
from vtm.common.secret import Secret
from vtm.devices import (
    PinEntryStatus,
    PinFormatError,
    PinPad,
    PinPurpose,
    SimulatedPinPad,
    parse_device_command,
)

PIN = "739164"


def test_simulator_honours_the_driver_protocol() -> None:
    assert isinstance(SimulatedPinPad(), PinPad)


def test_a_typed_pin_is_returned_as_a_secret_for_the_purpose_asked() -> None:
    pad = SimulatedPinPad()
    pad.key_in(PIN)
    entry = pad.request_pin(PinPurpose.AUTHENTICATE)
    assert entry.status is PinEntryStatus.ENTERED
    assert entry.entered
    assert entry.purpose is PinPurpose.AUTHENTICATE
    assert entry.pin is not None
    assert entry.pin.reveal() == PIN
    assert pad.requests == [PinPurpose.AUTHENTICATE]


def test_cancel_key_and_timeout_give_no_pin() -> None:
    pad = SimulatedPinPad()
    pad.press_cancel()
    cancelled = pad.request_pin(PinPurpose.RECONFIRM)
    assert cancelled.status is PinEntryStatus.CANCELLED
    assert cancelled.pin is None
    assert not cancelled.entered
    timed_out = pad.request_pin(PinPurpose.RECONFIRM)
    assert timed_out.status is PinEntryStatus.TIMED_OUT
    assert timed_out.pin is None


def test_entries_are_consumed_in_order_and_reset_forgets_the_rest() -> None:
    pad = SimulatedPinPad()
    pad.key_in("000000")
    pad.key_in(PIN)
    first = pad.request_pin(PinPurpose.AUTHENTICATE)
    assert first.pin == Secret("000000")
    assert pad.pending
    pad.reset()
    assert not pad.pending
    assert pad.request_pin(PinPurpose.AUTHENTICATE).status is PinEntryStatus.TIMED_OUT


@pytest.mark.parametrize("bad", ["12345", "1234567", "12a456", "１２３４５６"])
def test_a_pin_of_the_wrong_shape_is_refused_without_echoing_it(bad: str) -> None:
    pad = SimulatedPinPad()
    with pytest.raises(PinFormatError) as caught:
        pad.key_in(bad)
    error = caught.value
    assert bad not in f"{error} {error!r} {error.args} {error.context}"
    assert not pad.pending


def test_the_pin_never_appears_in_reprs_logs_or_command_text(caplog: pytest.LogCaptureFixture) -> None:
    command = parse_device_command(f"pin {PIN}")
    pad = SimulatedPinPad()
    pad.key_in(PIN)
    entry = pad.request_pin(PinPurpose.AUTHENTICATE)
    logger = logging.getLogger("test.pinpad")
    caplog.handler.addFilter(MaskingFilter())
    with caplog.at_level(logging.INFO, logger="test.pinpad"):
        logger.info("device %s gave %s / %r", command, entry, entry)
    shown = f"{command} {command!r} {entry} {entry!r} {pad.requests} {caplog.text}"
    assert PIN not in shown
    assert "pin ******" in shown

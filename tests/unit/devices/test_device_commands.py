"""The device-command script contract: typed commands, masked echo, clear errors."""

from __future__ import annotations

import pytest

from vtm.devices import (
    CancelPin,
    DeviceCommandError,
    EnterPin,
    FaceCommand,
    FaceOutcome,
    InsertCard,
    ScanId,
    Silence,
    TakeCard,
    TakeReceipt,
    TouchScreen,
    parse_device_command,
)

ID_NUMBER = "320402195003151237"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("insert_card 6222020200001234", InsertCard("6222020200001234")),
        ("insert_card 6222 0202 0000 1234", InsertCard("6222020200001234")),
        ("INSERT_CARD 6222021234567890128", InsertCard("6222021234567890128")),
        ("take_card", TakeCard()),
        ("pin_cancel", CancelPin()),
        ("scan_id 320402195003151237", ScanId(ID_NUMBER)),
        ("scan_id 11010519491231002x", ScanId("11010519491231002X")),
        ("scan_id 320402195003151237 expired", ScanId(ID_NUMBER, expired=True)),
        ("face pass", FaceCommand(FaceOutcome.PASS)),
        ("face FAIL", FaceCommand(FaceOutcome.FAIL)),
        ("face refuse", FaceCommand(FaceOutcome.REFUSE)),
        ("silence 8", Silence(8.0)),
        ("silence 2.5   # a pause", Silence(2.5)),
        ("  take_receipt  ", TakeReceipt()),
        ("screen en", TouchScreen("en")),
        ("screen ZH", TouchScreen("zh")),
        ("screen elderly_off", TouchScreen("elderly_off")),
        ("screen person", TouchScreen("person")),
    ],
)
def test_commands_parse_into_typed_values(line: str, expected: object) -> None:
    assert parse_device_command(line) == expected


def test_pin_parses_into_a_secret() -> None:
    command = parse_device_command("pin 123456")
    assert isinstance(command, EnterPin)
    assert command.pin.reveal() == "123456"


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("insert_card 6222020200001234", "insert_card 6222 **** **** 1234"),
        ("pin 123456", "pin ******"),
        ("scan_id 320402195003151237", "scan_id 3204**********1237"),
        ("scan_id 320402195003151237 expired", "scan_id 3204**********1237 expired"),
        ("face refuse", "face refuse"),
        ("silence 8", "silence 8"),
        ("take_card", "take_card"),
    ],
)
def test_commands_print_back_masked(line: str, shown: str) -> None:
    assert str(parse_device_command(line)) == shown


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("", "empty device command"),
        ("   # only a comment", "empty device command"),
        ("swipe_card 6222020200001234", "unknown device command 'swipe_card'"),
        ("insert_card", "12-19 digits"),
        ("insert_card 1234", "12-19 digits"),
        ("insert_card 6222abcd00001234", "12-19 digits"),
        ("take_card now", "take_card takes no argument"),
        ("pin", "4-12 digits"),
        ("pin 12 34", "4-12 digits"),
        ("scan_id", "ID number"),
        ("scan_id 3204021950031512", "17 digits and a digit or X"),
        ("scan_id 320402195003151237 lost", "optionally followed by 'expired'"),
        ("face maybe", "pass, fail, refuse"),
        ("face", "pass, fail, refuse"),
        ("silence", "number of seconds"),
        ("silence soon", "number of seconds"),
        ("silence -1", "between 0 and"),
        ("silence nan", "between 0 and"),
        ("screen", "screen needs one of: zh, en, elderly_on, elderly_off, person"),
        ("screen fr", "screen needs one of"),
        ("screen en zh", "screen needs one of"),
    ],
)
def test_malformed_commands_say_what_is_wrong_and_list_the_commands(line: str, says: str) -> None:
    with pytest.raises(DeviceCommandError) as caught:
        parse_device_command(line)
    assert says in str(caught.value)
    assert "insert_card CARD_NUMBER" in str(caught.value)


@pytest.mark.parametrize("line", ["pin 12a456", "pin 123", "pin 1234567890123", "pin 123456 789012"])
def test_a_malformed_pin_is_never_echoed(line: str) -> None:
    with pytest.raises(DeviceCommandError) as caught:
        parse_device_command(line)
    for group in line.split()[1:]:
        assert group not in str(caught.value)


def test_a_malformed_card_number_is_echoed_only_masked() -> None:
    with pytest.raises(DeviceCommandError) as caught:
        parse_device_command("insert_card 62220202000012345678901")
    assert "62220202000012345678901" not in str(caught.value)

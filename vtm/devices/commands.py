"""Device commands of the terminal simulator and conversation scripts (``device:`` turns).

The script contract (issue 5)::

    insert_card 6222020200001234     take_card
    pin 123456                       pin_cancel
    scan_id 320402195003151234       scan_id 320402195003151234 expired
    face pass | face fail | face refuse
    silence 8                        take_receipt

:func:`parse_device_command` turns one line into a typed command; ``str(command)`` gives the
line back with the PIN as ``******`` and numbers masked, fit for transcripts and screens.
Errors never echo a PIN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal, get_args

from vtm.common.masking import mask_card, mask_id
from vtm.common.secret import PIN_MASK, Secret
from vtm.devices.errors import DeviceCommandError
from vtm.devices.face import FaceOutcome

__all__ = [
    "USAGE",
    "CancelPin",
    "DeviceCommand",
    "EnterPin",
    "FaceCommand",
    "InsertCard",
    "PressButton",
    "ScanId",
    "ScreenButton",
    "Silence",
    "TakeCard",
    "TakeReceipt",
    "TouchScreen",
    "parse_device_command",
    "raw_device_line",
]

MAX_SILENCE_S: Final = 3600.0


@dataclass(frozen=True, slots=True)
class InsertCard:
    card_number: str

    def __str__(self) -> str:
        return f"insert_card {mask_card(self.card_number)}"


@dataclass(frozen=True, slots=True)
class TakeCard:
    def __str__(self) -> str:
        return "take_card"


@dataclass(frozen=True, slots=True)
class EnterPin:
    pin: Secret

    def __str__(self) -> str:
        return f"pin {PIN_MASK}"


@dataclass(frozen=True, slots=True)
class CancelPin:
    def __str__(self) -> str:
        return "pin_cancel"


@dataclass(frozen=True, slots=True)
class ScanId:
    id_number: str
    expired: bool = False

    def __str__(self) -> str:
        return f"scan_id {mask_id(self.id_number)}" + (" expired" if self.expired else "")


@dataclass(frozen=True, slots=True)
class FaceCommand:
    outcome: FaceOutcome

    def __str__(self) -> str:
        return f"face {self.outcome.value}"


@dataclass(frozen=True, slots=True)
class Silence:
    seconds: float

    def __str__(self) -> str:
        return f"silence {self.seconds:g}"


@dataclass(frozen=True, slots=True)
class TakeReceipt:
    def __str__(self) -> str:
        return "take_receipt"


@dataclass(frozen=True, slots=True)
class PressButton:
    """A touch on the kiosk screen's confirm or cancel button (the touch alternative to saying it)."""

    button: Literal["confirm", "cancel"]

    def __str__(self) -> str:
        return f"button {self.button}"


ScreenButton = Literal["zh", "en", "elderly_on", "elderly_off", "person"]


@dataclass(frozen=True, slots=True)
class TouchScreen:
    """A touch on one of the screen's own buttons: the language switch, elderly mode on or off, or
    "call a person". The dialog does what the words would, without the NLU in between."""

    button: ScreenButton

    def __str__(self) -> str:
        return f"screen {self.button}"


DeviceCommand = (
    InsertCard | TakeCard | EnterPin | CancelPin | ScanId | FaceCommand | Silence | TakeReceipt | PressButton
    | TouchScreen
)

USAGE: Final = (
    "insert_card CARD_NUMBER | take_card | pin DIGITS | pin_cancel | scan_id ID_NUMBER [expired] | "
    "face pass|fail|refuse | silence SECONDS | take_receipt | button confirm|cancel | "
    "screen " + "|".join(get_args(ScreenButton))
)

_NO_ARGS: Final[dict[str, DeviceCommand]] = {
    "take_card": TakeCard(),
    "pin_cancel": CancelPin(),
    "take_receipt": TakeReceipt(),
}
_CARD_RE: Final = re.compile(r"[0-9]{12,19}")
_ID_RE: Final = re.compile(r"[0-9]{17}[0-9X]")
_PIN_RE: Final = re.compile(r"[0-9]{4,12}")


def _error(message: str) -> DeviceCommandError:
    return DeviceCommandError(f"{message}; device commands: {USAGE}")


def parse_device_command(line: str) -> DeviceCommand:
    """Parse one device command line (case-insensitive name, ``#`` starts a comment).

    >>> parse_device_command("insert_card 6222 0202 0000 1234")
    InsertCard(card_number='6222020200001234')
    """
    words = line.split("#", 1)[0].split()
    if not words:
        raise _error("empty device command")
    name, args = words[0].lower(), words[1:]
    if name in _NO_ARGS:
        if args:
            raise _error(f"{name} takes no argument")
        return _NO_ARGS[name]
    if name == "insert_card":
        number = "".join(args)  # "6222 0202 0000 1234" as people group it
        if not _CARD_RE.fullmatch(number):
            raise _error(f"insert_card needs a card number of 12-19 digits, got {mask_card(number)!r}")
        return InsertCard(number)
    if name == "pin":
        # The message must not echo what was typed: it may be a real PIN with a typo.
        if len(args) != 1 or not _PIN_RE.fullmatch(args[0]):
            raise _error("pin needs one group of 4-12 digits")
        return EnterPin(Secret(args[0]))
    if name == "scan_id":
        expired = len(args) == 2 and args[1].lower() == "expired"
        if not args or len(args) > 2 or (len(args) == 2 and not expired):
            raise _error("scan_id needs an ID number, optionally followed by 'expired'")
        id_number = args[0].upper()
        if not _ID_RE.fullmatch(id_number):
            raise _error(f"scan_id needs 17 digits and a digit or X, got {mask_id(id_number)!r}")
        return ScanId(id_number, expired)
    if name == "face":
        try:
            (word,) = args
            return FaceCommand(FaceOutcome(word.lower()))
        except ValueError:
            raise _error("face needs one of: pass, fail, refuse") from None
    if name == "button":
        if len(args) != 1 or args[0].lower() not in ("confirm", "cancel"):
            raise _error("button needs one of: confirm, cancel")
        return PressButton("confirm" if args[0].lower() == "confirm" else "cancel")
    if name == "screen":
        buttons: tuple[ScreenButton, ...] = get_args(ScreenButton)
        button = next((b for b in buttons if len(args) == 1 and args[0].lower() == b), None)
        if button is None:
            raise _error("screen needs one of: " + ", ".join(buttons))
        return TouchScreen(button)
    if name == "silence":
        try:
            (word,) = args
            seconds = float(word)
        except ValueError:
            raise _error("silence needs a number of seconds") from None
        if not 0 < seconds <= MAX_SILENCE_S:
            raise _error(f"silence needs between 0 and {MAX_SILENCE_S:g} seconds")
        return Silence(seconds)
    raise _error(f"unknown device command {name!r}")


def raw_device_line(command: DeviceCommand) -> str | None:
    """The command as the customer's side typed it, except a PIN (never kept): for the encrypted
    raw record supervisors may export."""
    if isinstance(command, EnterPin):
        return None
    if isinstance(command, InsertCard):
        return f"insert_card {command.card_number}"
    if isinstance(command, ScanId):
        return f"scan_id {command.id_number}" + (" expired" if command.expired else "")
    return str(command)

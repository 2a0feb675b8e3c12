"""PIN pad: the customer types a PIN for a stated purpose, or presses cancel.

The PIN only ever exists as a :class:`~vtm.common.secret.Secret` (prints ``******``); the one
place that calls ``reveal()`` is the core-banking call. Nothing here logs, stores or puts a PIN
into an error message. :class:`SimulatedPinPad` is fed by the ``pin DIGITS`` and ``pin_cancel``
commands; with nothing typed, a request times out, as the real pad would.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from vtm.common.secret import Secret
from vtm.devices.errors import PinFormatError

__all__ = ["PinEntry", "PinEntryStatus", "PinPad", "PinPurpose", "SimulatedPinPad"]


class PinPurpose(StrEnum):
    AUTHENTICATE = "authenticate"  # card + PIN at the start of a session
    RECONFIRM = "reconfirm"  # PIN again before a large transfer
    VERIFY_IDENTITY = "verify_identity"  # ID + PIN instead of a face check
    CHANGE = "change"  # the current or a new PIN while the customer changes it


class PinEntryStatus(StrEnum):
    ENTERED = "entered"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


@dataclass(frozen=True, slots=True)
class PinEntry:
    purpose: PinPurpose
    status: PinEntryStatus
    pin: Secret | None = None  # set only when ENTERED

    @property
    def entered(self) -> bool:
        return self.status is PinEntryStatus.ENTERED and self.pin is not None


@runtime_checkable
class PinPad(Protocol):
    def request_pin(self, purpose: PinPurpose, timeout_s: float = 30.0) -> PinEntry:
        """Ask for a PIN; returns what the customer did (entered, cancelled, or nothing)."""
        ...


class SimulatedPinPad:
    """A PIN pad fed by ``key_in`` and ``press_cancel``; records purposes, never digits."""

    def __init__(self, pin_length: int = 6) -> None:
        self._pin_length = pin_length
        self._typed: deque[Secret | None] = deque()  # None stands for the cancel key
        self.requests: list[PinPurpose] = []

    @property
    def pending(self) -> bool:
        return bool(self._typed)

    def key_in(self, pin: str | Secret) -> None:
        """The customer types a PIN and presses confirm."""
        secret = pin if isinstance(pin, Secret) else Secret(pin)
        digits = secret.reveal()
        if len(digits) != self._pin_length or not (digits.isascii() and digits.isdigit()):
            raise PinFormatError(f"a PIN has {self._pin_length} digits", expected=self._pin_length)
        self._typed.append(secret)

    def press_cancel(self) -> None:
        self._typed.append(None)

    def request_pin(self, purpose: PinPurpose, timeout_s: float = 30.0) -> PinEntry:
        self.requests.append(purpose)
        if not self._typed:
            return PinEntry(purpose, PinEntryStatus.TIMED_OUT)
        typed = self._typed.popleft()
        if typed is None:
            return PinEntry(purpose, PinEntryStatus.CANCELLED)
        return PinEntry(purpose, PinEntryStatus.ENTERED, typed)

    def reset(self) -> None:
        """Forget anything typed but not yet requested (end of a session)."""
        self._typed.clear()

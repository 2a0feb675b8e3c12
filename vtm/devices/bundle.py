"""One of each device, as the kiosk sees them (:class:`Devices`), and the simulated set the
terminal simulator and tests drive with script commands (:class:`SimulatedDevices`).

Usage::

    devices = Devices.simulated(settings.output_dir, id_lookup=lookup_name)
    devices.apply(parse_device_command("insert_card 6222020200001234"))
    devices.card_reader.inserted()   # '6222020200001234'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import assert_never

from vtm.devices._clock import Clock, Today, kiosk_today, utc_now
from vtm.devices.card_reader import CardReader, SimulatedCardReader
from vtm.devices.commands import (
    CancelPin,
    DeviceCommand,
    EnterPin,
    FaceCommand,
    InsertCard,
    PressButton,
    ScanId,
    Silence,
    TakeCard,
    TakeReceipt,
    TouchScreen,
)
from vtm.devices.face import FaceCheck, SimulatedFaceCheck
from vtm.devices.id_reader import IdCardReader, NameLookup, SimulatedIdCardReader
from vtm.devices.pin_pad import PinPad, SimulatedPinPad
from vtm.devices.printer import Printer, SimulatedPrinter

__all__ = ["Devices", "SimulatedDevices"]


@dataclass(frozen=True)
class Devices:
    """The kiosk's devices, each behind its protocol."""

    card_reader: CardReader
    id_reader: IdCardReader
    pin_pad: PinPad
    face: FaceCheck
    printer: Printer

    @classmethod
    def simulated(
        cls,
        output_dir: Path,
        *,
        id_lookup: NameLookup | None = None,
        today: Today = kiosk_today,
        clock: Clock = utc_now,
        paper: int | None = None,
    ) -> SimulatedDevices:
        """Simulators for every device; the printer writes into ``output_dir``."""
        return SimulatedDevices(
            card_reader=SimulatedCardReader(clock),
            id_reader=SimulatedIdCardReader(id_lookup, today),
            pin_pad=SimulatedPinPad(),
            face=SimulatedFaceCheck(clock=clock),
            printer=SimulatedPrinter(output_dir, paper, clock),
        )


@dataclass(frozen=True)
class SimulatedDevices(Devices):
    """The simulated set, with the customer's side reachable through :meth:`apply`."""

    card_reader: SimulatedCardReader
    id_reader: SimulatedIdCardReader
    pin_pad: SimulatedPinPad
    face: SimulatedFaceCheck
    printer: SimulatedPrinter

    def apply(self, command: DeviceCommand) -> None:
        """Do what the customer did. ``silence`` changes no device (the dialog handles it).

        Raises a :class:`~vtm.devices.errors.DeviceError` when the action is impossible
        (a second card, taking a card that was never ejected, a PIN of the wrong length).
        """
        match command:
            case InsertCard(card_number):
                self.card_reader.insert(card_number)
            case TakeCard():
                self.card_reader.take()
            case EnterPin(pin):
                self.pin_pad.key_in(pin)
            case CancelPin():
                self.pin_pad.press_cancel()
            case ScanId(id_number, expired):
                self.id_reader.present(id_number, expired=expired)
            case FaceCommand(outcome):
                self.face.script(outcome)
            case TakeReceipt():
                self.printer.take()
            case Silence() | PressButton() | TouchScreen():
                pass  # nothing for a device to do: the dialog handles them
            case _:
                assert_never(command)

"""Perform the dialog's device actions on the kiosk's devices (real drivers or the simulated ones).

The dialog returns actions (:mod:`vtm.dialog.actions`); this is the kiosk's side of that contract.
Each action yields one operation record for the turn; a device that fails does not stop the others
and is recorded as ``device_error: ...`` (the dialog then tells the customer).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from vtm.devices import DeviceError, Devices
from vtm.dialog.actions import Action, EjectCard, PrintDocument, PrintReceipt, RetainCard

__all__ = ["DevicePerformer"]

_log = logging.getLogger(__name__)


class DevicePerformer:
    def __init__(self, devices: Devices) -> None:
        self._devices = devices

    def __call__(self, actions: Sequence[Action]) -> list[dict[str, Any]]:
        return [self._one(action) for action in actions]

    def _one(self, action: Action) -> dict[str, Any]:
        name, result = _label(action), "done"
        try:
            if isinstance(action, RetainCard):
                self._devices.card_reader.retain(action.reason)
                result = action.reason.value
            elif isinstance(action, EjectCard):
                self._devices.card_reader.eject()
            elif isinstance(action, PrintReceipt):
                result = str(self._devices.printer.print_receipt(list(action.lines), action.lang))  # type: ignore[arg-type]
            elif isinstance(action, PrintDocument):
                result = str(self._devices.printer.print_pdf(action.name, action.pdf))
        except (DeviceError, OSError) as exc:
            _log.warning("device action failed action=%s error=%s", name, type(exc).__name__)
            result = f"device_error: {exc}"
        return {"operation": name, "key": None, "result": result}


def _label(action: Action) -> str:
    if isinstance(action, PrintReceipt | PrintDocument):
        return action.label
    return "retain_card" if isinstance(action, RetainCard) else "eject_card"

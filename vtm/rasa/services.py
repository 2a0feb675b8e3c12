"""The kiosk services for the action server: built once per worker process, on first use.

rasa-sdk imports the actions module in every worker it spawns; building the services there at
import time would open databases in processes that may never run an action. So the first action
call builds them from :func:`vtm.config.load_settings` (``VTM_DATA_DIR``, ``VTM_BANK_URL`` ...).

Actions never parse free speech (Rasa's own NLU does that; our rule-based entity normalisers run
on slot values), so no intent model is loaded: the parser handed to bootstrap refuses to run.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from vtm.config import load_settings
from vtm.devices import Devices
from vtm.kiosk.bootstrap import KioskServices, bootstrap
from vtm.nlu.types import NluResult
from vtm.rasa import RasaBridgeError

__all__ = ["get_services", "reset_services", "with_fresh_devices"]

_lock = threading.Lock()
_services: KioskServices | None = None


class _NoIntentModel:
    """Stands in for the intent model: the action server never classifies utterances itself."""

    def parse(self, text: str, lang: Any = None, today: Any = None) -> NluResult:
        raise RasaBridgeError("the Rasa action server does not classify utterances (Rasa's NLU does)")


def get_services() -> KioskServices:
    """The process's services (sandbox bank or HTTP core, gate, audit, journal, prompts, definitions)."""
    global _services
    with _lock:
        if _services is None:
            # The Rasa deployment keeps the conversation in its own tracker store; every verdict and
            # core operation still goes to our audit chain. Kiosk session records are not written.
            _services = bootstrap(load_settings(), nlu=_NoIntentModel(), record=False)
        return _services


def with_fresh_devices(services: KioskServices, card_number: str | None) -> KioskServices:
    """The services with a fresh set of simulated devices for one action call, and no device performer.

    A Rasa channel has no card slot or printer: the dialog's device actions (retain the reported
    card, print a receipt) stay in the turn record for the channel; the simulated reader only holds
    the authenticated card, so the dialog reads the same state it reads at a kiosk.
    """
    settings = services.settings
    devices = Devices.simulated(settings.output_dir, clock=services.clock)
    if card_number:
        devices.card_reader.insert(card_number)
    return replace(services, devices=devices, perform_actions=None)


def reset_services() -> None:
    """Forget the built services (tests that point ``VTM_DATA_DIR`` at another bank in the same process)."""
    global _services
    with _lock:
        _services = None

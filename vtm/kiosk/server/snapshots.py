"""A kiosk's customer session made new, saved as a JSON payload, and carried on from one.

The payload a :class:`~vtm.kiosk.server.sessions.SessionRepository` saves after every turn::

    {"format": 1,
     "session": {...},        the dialog session (vtm.dialog.snapshot: flows, slots, facts; never a PIN)
     "screen":  {"history": [caption and reply messages], "read_back": "...", "state": "transfer.confirm"},
     "devices": {...} | null, the simulated devices' customer-side state (card in the reader, receipts
                              in the tray); real devices keep their own state
     "records": [...]}        the turn records not yet in the session store (vtm.records.outbox)

What does not persist: the microphone's half-heard utterance (voice mode: the customer says it
again), and the reply recordings, which stay in ``audio_dir`` (share it between replicas, or the
page of a carried-on session plays no earlier audio).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from pydantic import TypeAdapter

from vtm.devices import CardReaderState, Devices, SimulatedDevices
from vtm.devices.printer import Printout
from vtm.dialog.manager import DialogManager
from vtm.dialog.plugins import all_guards
from vtm.dialog.prompts import Lang
from vtm.dialog.snapshot import SnapshotError, from_snapshot, pins_to_ask_again, to_snapshot
from vtm.kiosk.actions import DevicePerformer
from vtm.kiosk.bootstrap import KioskServices
from vtm.kiosk.server.locale import ScreenLocale
from vtm.kiosk.server.protocol import Caption, ReplyMessage
from vtm.kiosk.server.sessions import HISTORY, KioskSession
from vtm.kiosk.server.view import ScreenView
from vtm.kiosk.server.voice import BrowserMicrophone, VoiceKit
from vtm.records.outbox import HeldRecords

__all__ = ["FORMAT", "DeviceFactory", "SessionFactory"]

_log = logging.getLogger(__name__)
FORMAT: Final = 1
DeviceFactory = Callable[[str], Devices]
_HISTORY: TypeAdapter[list[Caption | ReplyMessage]] = TypeAdapter(list[Caption | ReplyMessage])


class SessionFactory:
    """Makes the kiosk sessions of one service: new ones, and ones carried on from a payload."""

    def __init__(self, services: KioskServices, locale: ScreenLocale, devices: DeviceFactory,
                 voice: VoiceKit | None, reset_after_s: float) -> None:
        self.services, self.locale, self.voice = services, locale, voice
        self._devices, self._reset_after_s = devices, reset_after_s

    def new(self, kiosk_id: str, lang: Lang | None, elderly: bool) -> KioskSession:
        devices = self._devices(kiosk_id)
        records = self._records(opened=False, closed=False)
        services = self._services(kiosk_id, devices, records)
        state = services.new_session(lang)
        state.elderly = elderly
        return self._voiced(KioskSession(kiosk_id, DialogManager(services, state), devices, records))

    def dump(self, session: KioskSession) -> dict[str, Any]:
        """The payload to save; raises :class:`~vtm.dialog.snapshot.SnapshotError` for a value it cannot hold."""
        return {
            "format": FORMAT,
            "session": to_snapshot(session.dm.session),
            # The history holds captions and replies only (turn_messages), typed as any server message.
            "screen": {"history": _HISTORY.dump_python(list(session.history), mode="json"),  # type: ignore[arg-type]
                       "read_back": session.read_back,
                       "state": session.view.state.state if session.view is not None else "idle"},
            "devices": _device_state(session.devices),
            "records": session.records.pending() if session.records is not None else [],
        }

    def load(self, kiosk_id: str, payload: dict[str, Any]) -> KioskSession:
        """The session of ``payload``, live again; writes the records its holder had not written."""
        if payload.get("format") != FORMAT:
            raise SnapshotError(f"kiosk {kiosk_id}: a saved session of format {payload.get('format')!r}")
        state = from_snapshot(payload["session"], self.services.definitions, all_guards())
        devices = self._devices(kiosk_id)
        _restore_devices(devices, payload.get("devices"))
        records = self._records(opened=True, closed=state.ended)
        if records is not None:
            written = records.replay(payload.get("records", []))
            if written:  # its last holder died between saving the session and writing the records
                _log.warning("records_replayed kiosk=%s session=%s items=%d", kiosk_id, state.session_id, written)
        dm = DialogManager(self._services(kiosk_id, devices, records), state)
        screen = payload["screen"]
        session = KioskSession(kiosk_id, dm, devices, records, read_back=screen["read_back"],
                               history=deque(_HISTORY.validate_python(screen["history"]), maxlen=HISTORY),
                               ask_again=bool(pins_to_ask_again(payload["session"])))
        session.view = ScreenView.of(dm, self.locale, state.turn, screen["state"], session.read_back,
                                     self._reset_after_s)
        return self._voiced(session)

    def _records(self, *, opened: bool, closed: bool) -> HeldRecords | None:
        recorder = self.services.recorder
        if recorder is None:
            return None  # a service without a session store (benchmarks of the dialog alone)
        return HeldRecords(recorder.store, self.services.clock, audit=self.services.audit, opened=opened, closed=closed)

    def _services(self, kiosk_id: str, devices: Devices, records: HeldRecords | None) -> KioskServices:
        """The engine's services as this kiosk's session sees them: its own devices, id and records."""
        return replace(self.services, devices=devices, perform_actions=DevicePerformer(devices), recorder=records,
                       settings=self.services.settings.model_copy(update={"kiosk_id": kiosk_id}))

    def _voiced(self, session: KioskSession) -> KioskSession:
        if self.voice is not None:
            out_dir = self.services.settings.audio_dir / session.session_id
            out_dir.mkdir(parents=True, exist_ok=True)
            session.front = self.voice.front_end(out_dir)
            session.microphone = BrowserMicrophone(session.front, session.dm)
        return session


def _device_state(devices: Devices) -> dict[str, Any] | None:
    """What the customer did to the simulated devices that the dialog does not keep itself."""
    if not isinstance(devices, SimulatedDevices):
        return None
    reader = devices.card_reader
    card = reader.inserted() if reader.state is CardReaderState.INSERTED else None
    if reader.state is CardReaderState.EJECTED:
        card = reader.events[-1].card.reveal() if reader.events else None  # the card last ejected
    return {"card": {"state": reader.state.value, "number": card},
            "tray": [{"pdf": str(p.pdf), "txt": str(p.txt) if p.txt else None, "pages": p.pages,
                      "at": p.at.isoformat()} for p in devices.printer.tray]}


def _restore_devices(devices: Devices, state: dict[str, Any] | None) -> None:
    if state is None or not isinstance(devices, SimulatedDevices):
        return
    card = state["card"]
    if card["number"] and card["state"] in (CardReaderState.INSERTED.value, CardReaderState.EJECTED.value):
        devices.card_reader.insert(card["number"])
        if card["state"] == CardReaderState.EJECTED.value:
            devices.card_reader.eject()
    for item in state["tray"]:
        printout = Printout(Path(item["pdf"]), Path(item["txt"]) if item["txt"] else None, item["pages"],
                            datetime.fromisoformat(item["at"]))
        devices.printer.printed.append(printout)
        devices.printer.tray.append(printout)

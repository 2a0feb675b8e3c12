"""Where the kiosk service keeps each kiosk's running customer session, and who may run its turns.

One kiosk (``kiosk_id``) has at most one customer session at a time. After every turn the service
saves it through a :class:`SessionRepository` as a JSON payload (:mod:`vtm.kiosk.server.snapshots`),
so a browser that reconnects, a restarted service or another replica finds it and goes on:

* :class:`~vtm.records.kiosk_sessions.KioskSessionTable`: the records database (``vtm serve``'s
  default). PostgreSQL: any number of replicas, one holder per kiosk at a time by an advisory
  lock. SQLite: one process per database file.
* :class:`InMemorySessionRepository`: this process's memory (``vtm serve --memory-sessions``, tests);
  a restart ends the sessions. The payloads are made all the same, so the snapshot of every
  session is exercised wherever the service runs.

A kiosk is *held* while one of its messages is handled: ``hold`` reads the saved session, and the
holder saves it (or deletes it, when the session is over) before letting go. The service keeps the
live :class:`KioskSession` (dialog manager, devices, screen) between messages and rebuilds it from
the payload only when the saved version is not the one it last saved (a restart, another replica).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from vtm.devices import Devices
from vtm.dialog.manager import DialogManager
from vtm.kiosk.server.protocol import ServerMessage
from vtm.kiosk.server.view import ScreenView
from vtm.kiosk.server.voice import BrowserMicrophone
from vtm.kiosk.voice import VoiceFrontEnd
from vtm.records.kiosk_sessions import SessionConflict, StoredSession
from vtm.records.outbox import HeldRecords

__all__ = ["HISTORY", "Held", "InMemorySessionRepository", "KioskSession", "SessionRepository"]

HISTORY: Final = 60  # captions and replies kept for a client that reconnects


@dataclass
class KioskSession:
    """One customer at one kiosk: the dialog, its devices, its records and what the screen shows."""

    kiosk_id: str
    dm: DialogManager
    devices: Devices
    records: HeldRecords | None = None  # the dialog's records, written once the session is saved (None: none)
    view: ScreenView | None = None
    read_back: str | None = None
    history: deque[ServerMessage] = field(default_factory=lambda: deque(maxlen=HISTORY))
    front: VoiceFrontEnd | None = None  # voice (``vtm serve --voice``): ASR + TTS for this session
    microphone: BrowserMicrophone | None = None
    ask_again: bool = False  # carried on without the PINs it held: the kiosk asks again before anything else

    @property
    def session_id(self) -> str:
        return self.dm.session.session_id


class Held(Protocol):
    """A kiosk's saved session while this process holds the kiosk."""

    stored: StoredSession | None

    def save(self, session_id: str, payload: dict[str, Any]) -> StoredSession: ...

    def delete(self) -> None: ...


class SessionRepository(Protocol):
    """The saved session of each kiosk. Implementations are safe to call from worker threads."""

    persistent: bool
    """True: sessions outlive this process (the service leaves them open when it stops)."""

    def hold(self, kiosk_id: str) -> AbstractContextManager[Held]: ...

    def session_ids(self) -> dict[str, str]: ...

    def untouched_since(self, cutoff: datetime) -> list[str]:
        """Kiosks whose saved session was last saved before ``cutoff``."""
        ...

    def close(self) -> None: ...


class _HeldInMemory:
    def __init__(self, rows: dict[str, StoredSession], kiosk_id: str) -> None:
        self._rows, self._kiosk_id = rows, kiosk_id
        self.stored = rows.get(kiosk_id)

    def save(self, session_id: str, payload: dict[str, Any]) -> StoredSession:
        if self._rows.get(self._kiosk_id) is not self.stored:
            raise SessionConflict(f"kiosk {self._kiosk_id}: the saved session changed")
        version = self.stored.version + 1 if self.stored is not None else 1
        self.stored = StoredSession(self._kiosk_id, session_id, version, payload, datetime.now(UTC))
        self._rows[self._kiosk_id] = self.stored
        return self.stored

    def delete(self) -> None:
        self._rows.pop(self._kiosk_id, None)
        self.stored = None


class InMemorySessionRepository:
    """Saved sessions in this process's memory (lost on restart)."""

    persistent = False

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._rows: dict[str, StoredSession] = {}

    @contextmanager
    def hold(self, kiosk_id: str) -> Iterator[Held]:
        with self._guard:
            lock = self._locks.setdefault(kiosk_id, threading.Lock())
        with lock:
            yield _HeldInMemory(self._rows, kiosk_id)

    def session_ids(self) -> dict[str, str]:
        with self._guard:
            return {kiosk: row.session_id for kiosk, row in list(self._rows.items())}

    def untouched_since(self, cutoff: datetime) -> list[str]:
        with self._guard:
            return [kiosk for kiosk, row in list(self._rows.items()) if row.updated_at < cutoff]

    def close(self) -> None:
        pass  # nothing to release

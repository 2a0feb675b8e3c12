"""Where the kiosk service keeps each kiosk's running customer session.

One kiosk (``kiosk_id``) has at most one customer session at a time. A browser that reconnects
(a reload, a dropped Wi-Fi link) finds the same session through the repository and is redrawn
from its last screen. :class:`SessionRepository` is the seam: today sessions live in memory
(:class:`InMemorySessionRepository`), so a restart of ``vtm serve`` ends them (the records of
every finished turn are already in the session store). Persisting the dialog state after every
turn needs a serialisable :class:`~vtm.dialog.session.Session` (its running flow included) from
the dialog package; see ``docs/kiosk.md``.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Final, Protocol

from vtm.devices import Devices
from vtm.dialog.manager import DialogManager
from vtm.kiosk.server.protocol import ServerMessage
from vtm.kiosk.server.view import ScreenView
from vtm.kiosk.server.voice import BrowserMicrophone
from vtm.kiosk.voice import VoiceFrontEnd

__all__ = ["InMemorySessionRepository", "KioskSession", "SessionRepository"]

_HISTORY: Final = 60  # captions and replies kept for a client that reconnects


@dataclass
class KioskSession:
    """One customer at one kiosk: the dialog, its devices and what the screen shows."""

    kiosk_id: str
    dm: DialogManager
    devices: Devices
    view: ScreenView | None = None
    read_back: str | None = None
    history: deque[ServerMessage] = field(default_factory=lambda: deque(maxlen=_HISTORY))
    front: VoiceFrontEnd | None = None  # voice (``vtm serve --voice``): ASR + TTS for this session
    microphone: BrowserMicrophone | None = None

    @property
    def session_id(self) -> str:
        return self.dm.session.session_id


class SessionRepository(Protocol):
    """The running session of each kiosk. Implementations must be safe to call from worker threads."""

    def get(self, kiosk_id: str) -> KioskSession | None: ...

    def put(self, session: KioskSession) -> None: ...

    def remove(self, kiosk_id: str) -> KioskSession | None: ...

    def all(self) -> list[KioskSession]: ...


class InMemorySessionRepository:
    """Sessions in this process's memory (lost on restart)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, KioskSession] = {}

    def get(self, kiosk_id: str) -> KioskSession | None:
        with self._lock:
            return self._sessions.get(kiosk_id)

    def put(self, session: KioskSession) -> None:
        with self._lock:
            self._sessions[session.kiosk_id] = session

    def remove(self, kiosk_id: str) -> KioskSession | None:
        with self._lock:
            return self._sessions.pop(kiosk_id, None)

    def all(self) -> list[KioskSession]:
        with self._lock:
            return list(self._sessions.values())

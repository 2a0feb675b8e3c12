"""Write a session to the store while it runs: opened, every turn (masked), closed.

The dialog manager calls this after each turn, so a crash loses at most the turn in flight.
PIN entries never reach it in clear: the device command's raw form is kept only for other
devices (encrypted by the store, for supervisors' export), and a PIN command has none.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from vtm.audit import AuditLog
from vtm.dialog.session import Session
from vtm.dialog.turn import TurnRecord
from vtm.records.store import SessionStore

__all__ = ["SessionRecorder"]


class SessionRecorder:
    """Writes the session as it runs; on close, anchors the audit chain's head (when given the log)."""

    def __init__(self, store: SessionStore, clock: Callable[[], datetime], *, audit: AuditLog | None = None) -> None:
        self.store = store
        self._clock = clock
        self._audit = audit

    def opened(self, session: Session) -> None:
        self.store.open_session(session.session_id, session.kiosk_id, session.lang, session.started_at)

    def turn(self, session: Session, record: TurnRecord, names: list[str], *, audio_path: str | None = None,
             asr_confidence: float | None = None, device_raw: str | None = None) -> None:
        self.store.record_turn(session.session_id, record, names, audio_path=audio_path,
                               asr_confidence=asr_confidence, device_raw=device_raw, ts=self._clock())

    def closed(self, session: Session) -> None:
        self.store.close_session(session.session_id, session.outcome.value, list(session.transactions_done),
                                 session.customer_id, self._clock())
        if self._audit is not None:
            # A customer's session is the unit an insider would want to erase: its end is anchored.
            self._audit.anchor()

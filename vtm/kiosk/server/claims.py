"""Holding a kiosk for one message: its saved session brought up to date, saved after every turn.

The service keeps each kiosk's live :class:`~vtm.kiosk.server.sessions.KioskSession` (dialog
manager, devices, screen) between messages, and the version of the saved row it matches. At every
hold the saved row is read: the same version is the live session; another version (a restart,
another replica moved the session on) is rebuilt from the payload. Anything that goes wrong while
a kiosk is held forgets the live session, so the next message reads what is saved.

Usage (in a worker thread)::

    with live.claim(kiosk_id) as claim:
        claim.session.dm.handle_text("我要转账")
        live.save(claim)                 # the session, then its records
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from vtm.kiosk.server.sessions import Held, KioskSession, SessionRepository
from vtm.kiosk.server.snapshots import SessionFactory
from vtm.records.kiosk_sessions import StoredSession

__all__ = ["Claim", "LiveSessions"]

_log = logging.getLogger(__name__)


@dataclass
class Claim:
    """A kiosk held by this process for one message: its saved row and its live session (None: idle)."""

    kiosk_id: str
    held: Held
    session: KioskSession | None


class LiveSessions:
    """The kiosk sessions this process has live, kept in step with ``repository``."""

    def __init__(self, repository: SessionRepository, factory: SessionFactory) -> None:
        self.repository, self.factory = repository, factory
        self._live: dict[str, tuple[KioskSession, int]] = {}  # kiosk -> session and the version saved of it

    def peek(self, kiosk_id: str) -> KioskSession | None:
        """The live session without holding the kiosk (the microphone's chunks; nothing is changed)."""
        live = self._live.get(kiosk_id)
        return live[0] if live is not None else None

    @contextmanager
    def claim(self, kiosk_id: str) -> Iterator[Claim]:
        """Hold the kiosk and bring its session up to date with what is saved."""
        try:
            with self.repository.hold(kiosk_id) as held:
                yield Claim(kiosk_id, held, self._current(kiosk_id, held.stored))
        except BaseException:
            # What this process holds may now be ahead of what is saved (or behind it): read it again next time.
            self._live.pop(kiosk_id, None)
            raise

    def save(self, claim: Claim) -> None:
        """After every turn: save the session, then write its records (never the other way round)."""
        session = claim.session
        assert session is not None
        stored = claim.held.save(session.session_id, self.factory.dump(session))
        self._live[claim.kiosk_id] = (session, stored.version)
        if session.records is not None:
            session.records.flush()

    def end(self, claim: Claim) -> KioskSession:
        """The session is over: record its end, then delete what is saved of it."""
        session = claim.session
        assert session is not None
        session.dm.close()
        if session.records is not None:
            session.records.flush()  # the end is recorded before the saved session goes
        claim.held.delete()
        claim.session = None
        self._live.pop(claim.kiosk_id, None)
        return session

    def _current(self, kiosk_id: str, stored: StoredSession | None) -> KioskSession | None:
        if stored is None:
            self._live.pop(kiosk_id, None)
            return None
        live = self._live.get(kiosk_id)
        if live is not None and live[0].session_id == stored.session_id and live[1] == stored.version:
            return live[0]
        session = self.factory.load(kiosk_id, stored.payload)  # restarted, or moved on by another process
        self._live[kiosk_id] = (session, stored.version)
        _log.info("session_carried_on kiosk=%s session=%s version=%d turn=%d", kiosk_id, stored.session_id,
                  stored.version, session.dm.session.turn)
        return session

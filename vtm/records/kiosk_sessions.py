"""Kiosk sessions kept between turns: one row per kiosk holding its running session, and its lock.

The kiosk service (``vtm serve``) saves each kiosk's session after every turn, so a restarted
service, or another replica on the same database, carries on where the customer was. What a row
holds is the service's business (a JSON object: the dialog session's snapshot, the screen, the
records not yet written); this module stores it, encrypted with the records key (it holds card
and ID numbers in clear, like the raw text of the session store), and guards it:

* **One holder at a time per kiosk**: :meth:`KioskSessionTable.hold` is held while one message of
  the kiosk is handled (load, turn, save, records).

  - PostgreSQL: ``pg_advisory_lock(namespace, hashtext(kiosk_id))`` on a connection of its own,
    released when the message is done. A replica that dies loses its connection, and with it the
    lock, so another replica takes over at once. Waiting is bounded by ``lock_timeout``
    (:class:`SessionBusy`, retry-safe).
  - SQLite: a lock per kiosk inside this process, and **one process per database file**: the table
    takes an exclusive lock on a file beside the database when it opens, so a second ``vtm serve``
    on the same file refuses to start (:class:`SessionsInUse`). SQLite has no lock another process
    could wait on for a single kiosk without blocking every writer of the records database.

* **Optimistic check**: a save names the version it read (``UPDATE ... WHERE version = :seen``); a
  row changed by anyone else is a :class:`SessionConflict` and nothing is written.

Usage::

    table = KioskSessionTable.from_settings(settings)
    with table.hold("VTM-0001") as held:
        stored = held.stored                     # StoredSession or None (no session running)
        held.save("S-1", {"session": ...})       # version + 1
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError

from vtm.audit.db import records_engine
from vtm.config import Settings
from vtm.records.crypto import RecordsCipher
from vtm.records.schema import UtcDateTime
from vtm.records.store import RecordsError

__all__ = [
    "HeldKiosk",
    "KioskSessionError",
    "KioskSessionTable",
    "SessionBusy",
    "SessionConflict",
    "SessionsInUse",
    "StoredSession",
    "kiosk_sessions",
]

_LOCK_NAMESPACE: Final = 0x564B  # "VK": the first key of the two-key advisory lock, kept apart from others
_LOCK_NOT_AVAILABLE: Final = "55P03"

kiosk_sessions_metadata = MetaData()
kiosk_sessions = Table(
    "kiosk_sessions",
    kiosk_sessions_metadata,
    Column("kiosk_id", String(64), primary_key=True),
    Column("session_id", String(80), nullable=False),
    Column("version", Integer, nullable=False, doc="Saves of this row; a save names the version it read"),
    Column("sealed", Boolean, nullable=False, doc="payload is a Fernet token of the JSON (records key)"),
    Column("payload", Text, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)


class KioskSessionError(RecordsError):
    """Root of this module's errors (below the records' :class:`~vtm.records.store.RecordsError`)::

        KioskSessionError
        ├── SessionBusy       another process holds the kiosk longer than lock_timeout (retry-safe)
        ├── SessionConflict   the row changed since it was read: nothing written (not retry-safe)
        └── SessionsInUse     another process serves kiosks from this SQLite file (not retry-safe)
    """

    retry_safe = False


class SessionBusy(KioskSessionError):
    retry_safe = True


class SessionConflict(KioskSessionError):
    pass


class SessionsInUse(KioskSessionError):
    pass


@dataclass(frozen=True)
class StoredSession:
    kiosk_id: str
    session_id: str
    version: int
    payload: dict[str, Any]
    updated_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


class HeldKiosk:
    """A kiosk's row while this process holds the kiosk: read once, then saved or deleted."""

    def __init__(self, table: KioskSessionTable, kiosk_id: str, stored: StoredSession | None) -> None:
        self._table, self.kiosk_id, self.stored = table, kiosk_id, stored

    def save(self, session_id: str, payload: dict[str, Any]) -> StoredSession:
        """Write the kiosk's session over the version read; raises :class:`SessionConflict`."""
        self.stored = self._table._write(self.kiosk_id, session_id, payload, self.stored)
        return self.stored

    def delete(self) -> None:
        """No session runs at the kiosk any more (its records are in the session store)."""
        if self.stored is not None:
            self._table._delete(self.stored)
            self.stored = None


class KioskSessionTable:
    """The ``kiosk_sessions`` table on the records database; thread-safe."""

    persistent = True  # sessions saved here outlive the process that saved them

    def __init__(self, engine: Engine, *, cipher: RecordsCipher | None = None,
                 clock: Callable[[], datetime] = _now, lock_timeout_s: float = 10.0) -> None:
        self._engine, self._cipher, self._clock = engine, cipher, clock
        self._postgres = engine.dialect.name == "postgresql"
        self._lock_timeout_ms = round(lock_timeout_s * 1000)
        self._local: dict[str, threading.Lock] = {}
        self._local_guard = threading.Lock()
        self._owner: IO[bytes] | None = None
        if not self._postgres:
            self._owner = _one_process(engine)
        kiosk_sessions_metadata.create_all(engine)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Callable[[], datetime] = _now) -> KioskSessionTable:
        """On ``records_db_url``, sealed with the records key (:mod:`vtm.records.crypto`)."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(records_engine(settings.records_db_url), cipher=RecordsCipher.from_settings(settings), clock=clock)

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        """Release the SQLite file lock and the connections (the service stops)."""
        if self._owner is not None:
            self._owner.close()  # closing the file releases its lock
            self._owner = None
        self._engine.dispose()

    # Holding a kiosk ---------------------------------------------------------------------------
    @contextmanager
    def hold(self, kiosk_id: str) -> Iterator[HeldKiosk]:
        """Hold ``kiosk_id`` (no other holder in any process) and read its row; released on exit."""
        with self._postgres_lock(kiosk_id) if self._postgres else self._local_lock(kiosk_id):
            yield HeldKiosk(self, kiosk_id, self._read(kiosk_id))

    @contextmanager
    def _local_lock(self, kiosk_id: str) -> Iterator[None]:
        with self._local_guard:
            lock = self._local.setdefault(kiosk_id, threading.Lock())
        with lock:
            yield

    @contextmanager
    def _postgres_lock(self, kiosk_id: str) -> Iterator[None]:
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            conn.execute(text("SELECT set_config('lock_timeout', :t, false)"), {"t": f"{self._lock_timeout_ms}ms"})
            conn.execute(text("SELECT pg_advisory_lock(:ns, hashtext(:kiosk))"),
                         {"ns": _LOCK_NAMESPACE, "kiosk": kiosk_id})
        except OperationalError as exc:
            conn.invalidate()  # never pool a connection whose lock state is unknown
            conn.close()
            if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
                raise SessionBusy(f"kiosk {kiosk_id} is held by another process") from exc
            raise
        try:
            yield
        finally:
            _unlock(conn, kiosk_id)

    def untouched_since(self, cutoff: datetime) -> list[str]:
        """Kiosks whose saved session was last saved before ``cutoff`` (read without holding them)."""
        with self._engine.connect() as conn:
            return [r.kiosk_id for r in conn.execute(
                select(kiosk_sessions.c.kiosk_id).where(kiosk_sessions.c.updated_at < cutoff))]

    # Rows ----------------------------------------------------------------------------------------
    def session_ids(self) -> dict[str, str]:
        """The running session of every kiosk with one (read without holding them)."""
        with self._engine.connect() as conn:
            return {r.kiosk_id: r.session_id
                    for r in conn.execute(select(kiosk_sessions.c.kiosk_id, kiosk_sessions.c.session_id))}

    def _read(self, kiosk_id: str) -> StoredSession | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(kiosk_sessions).where(kiosk_sessions.c.kiosk_id == kiosk_id)).first()
        if row is None:
            return None
        raw = self._open(row.payload) if row.sealed else row.payload
        return StoredSession(row.kiosk_id, row.session_id, row.version, json.loads(raw), row.updated_at)

    def _write(self, kiosk_id: str, session_id: str, payload: dict[str, Any],
               seen: StoredSession | None) -> StoredSession:
        raw = json.dumps(payload, ensure_ascii=False, sort_keys=True)
        now = self._clock()
        values = {"session_id": session_id, "sealed": self._cipher is not None,
                  "payload": self._cipher.encrypt(raw) if self._cipher is not None else raw, "updated_at": now}
        version = 1 if seen is None else seen.version + 1
        with self._engine.begin() as conn:
            if seen is None:
                try:
                    conn.execute(insert(kiosk_sessions).values(kiosk_id=kiosk_id, version=version, **values))
                except IntegrityError as exc:
                    raise SessionConflict(f"kiosk {kiosk_id}: a session was saved by someone else") from exc
            else:
                done = conn.execute(update(kiosk_sessions)
                                    .where(kiosk_sessions.c.kiosk_id == kiosk_id,
                                           kiosk_sessions.c.version == seen.version)
                                    .values(version=version, **values))
                _changed_once(done.rowcount, kiosk_id, seen.version)
        return StoredSession(kiosk_id, session_id, version, payload, now)

    def _delete(self, seen: StoredSession) -> None:
        with self._engine.begin() as conn:
            done = conn.execute(delete(kiosk_sessions).where(kiosk_sessions.c.kiosk_id == seen.kiosk_id,
                                                             kiosk_sessions.c.version == seen.version))
            _changed_once(done.rowcount, seen.kiosk_id, seen.version)

    def _open(self, token: str) -> str:
        if self._cipher is None:
            raise KioskSessionError("a sealed kiosk session cannot be read without the records key")
        return self._cipher.decrypt(token)


def _changed_once(rowcount: int, kiosk_id: str, version: int) -> None:
    if rowcount != 1:
        raise SessionConflict(f"kiosk {kiosk_id}: the saved session is no longer version {version}")


def _unlock(conn: Connection, kiosk_id: str) -> None:
    try:
        conn.execute(text("SELECT pg_advisory_unlock(:ns, hashtext(:kiosk))"),
                     {"ns": _LOCK_NAMESPACE, "kiosk": kiosk_id})
        conn.execute(text("RESET lock_timeout"))
    except Exception:
        conn.invalidate()  # the server ends the connection, and with it the lock
        raise
    finally:
        conn.close()


def _one_process(engine: Engine) -> IO[bytes] | None:
    """Take the exclusive lock on ``<database>.kiosks.lock`` (None: an in-memory database)."""
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    path = Path(f"{database}.kiosks.lock")
    handle = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o600), "r+b")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise SessionsInUse(f"another process serves kiosks from {database}: SQLite allows one "
                            "(use PostgreSQL for several replicas)") from None
    return handle

"""Operation journal: the kiosk writes down a money movement *before* it asks the core bank.

If the kiosk dies after confirmation, before or after the core call, the journal holds the
idempotency key and the exact parameters. On restart :func:`OperationJournal.recover` asks the
core for the status of each unfinished entry by its key and records what really happened; it
never re-posts. A customer who has walked away is not charged twice, and no posting is lost
from the record.

Every write (intent, outcome) commits together with an audit entry that seals the row's content
hash, so ``vtm audit verify`` detects a journal row edited, deleted or inserted by hand. Without
an audit log the journal is read-only (for tools that inspect it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.orm import Session

from vtm.audit import AuditLog, Draft
from vtm.audit.db import records_engine
from vtm.audit.journal_model import (
    JournalEntry,
    JournalStatus,
    as_utc,
    journal_metadata,
    journal_ref,
    journal_row_hash,
    journal_table,
)

__all__ = ["JournalEntry", "JournalError", "JournalStatus", "OperationJournal"]

_table = journal_table


class JournalError(Exception):
    """The journal cannot do this (written without an audit log). Not retry-safe: fix the wiring."""

    retry_safe = False


def _now() -> datetime:
    return datetime.now(UTC)


class OperationJournal:
    def __init__(self, engine: Engine, clock: Callable[[], datetime] = _now, *, audit: AuditLog | None = None) -> None:
        self._engine = engine
        self._clock = clock
        self._audit = audit
        journal_metadata.create_all(engine)

    @classmethod
    def from_url(cls, url: str) -> OperationJournal:
        """A read-only journal (no audit log to seal writes with)."""
        return cls(records_engine(url))

    def _writer(self) -> AuditLog:
        if self._audit is None:
            raise JournalError("this operation journal is read-only: construct it with audit=AuditLog(...)")
        return self._audit

    def _stamp(self) -> datetime:
        # Stored as UTC so SQLite (which drops the offset) and PostgreSQL hash the same row alike.
        return self._clock().astimezone(UTC)

    def begin(self, key: str, session_id: str, operation: str, params: dict[str, Any]) -> None:
        """Record the intent durably (committed, and sealed in the audit chain) before the core is called."""
        now = self._stamp()
        row = {"idempotency_key": key, "session_id": session_id, "operation": operation,
               "params": json.dumps(params, sort_keys=True, default=str), "status": JournalStatus.PENDING.value,
               "result": None, "created_at": now, "updated_at": now}

        def build(conn: Connection, _seq: int) -> Draft | None:
            if conn.execute(select(_table.c.idempotency_key).where(_table.c.idempotency_key == key)).first():
                return None
            conn.execute(insert(_table).values(**row))
            return _draft(row, now)

        self._writer().transact(build)

    def finish(self, key: str, status: JournalStatus, result: dict[str, Any] | None = None) -> None:
        now = self._stamp()

        def build(conn: Connection, _seq: int) -> Draft:
            found = conn.execute(select(_table).where(_table.c.idempotency_key == key)).mappings().first()
            if found is None:
                raise KeyError(key)
            changes = {"status": JournalStatus(status).value,
                       "result": json.dumps(result, sort_keys=True, default=str) if result is not None else None,
                       "updated_at": now}
            conn.execute(update(_table).where(_table.c.idempotency_key == key).values(**changes))
            return _draft({**found, **changes}, now)

        self._writer().transact(build)

    def unfinished(self) -> list[JournalEntry]:
        with Session(self._engine) as db:
            rows = db.scalars(select(JournalEntry).where(
                JournalEntry.status.in_([JournalStatus.PENDING, JournalStatus.UNKNOWN]))).all()
            db.expunge_all()
            return list(rows)

    def get(self, key: str) -> JournalEntry | None:
        with Session(self._engine) as db:
            entry = db.get(JournalEntry, key)
            if entry is not None:
                db.expunge(entry)
            return entry

    def recover(self, status_of: Callable[[str, str], dict[str, Any] | None], *,
                grace: timedelta = timedelta(0)) -> list[tuple[str, JournalStatus]]:
        """Resolve unfinished entries: ``status_of(operation, key)`` asks the core; never re-posts.

        Entries written less than ``grace`` ago are left alone: where several processes share the
        journal (replicas on PostgreSQL), such an entry may be another process's operation still
        under way, and settling it as "not executed" before its core call returns would be wrong.
        """
        cutoff = self._stamp() - grace
        resolved = []
        for entry in self.unfinished():
            if grace and as_utc(entry.updated_at) > cutoff:
                continue
            try:
                result = status_of(entry.operation, entry.idempotency_key)
            except Exception as exc:
                self.finish(entry.idempotency_key, JournalStatus.UNKNOWN, {"error": str(exc)})
                resolved.append((entry.idempotency_key, JournalStatus.UNKNOWN))
                continue
            status = JournalStatus.DONE if result is not None else JournalStatus.NOT_EXECUTED
            self.finish(entry.idempotency_key, status, result)
            resolved.append((entry.idempotency_key, status))
        return resolved


def _draft(row: dict[str, Any], when: datetime) -> Draft:
    """The audit entry for one journal write: what happened (no parameters), and the row's content hash."""
    return Draft(
        "journal",
        {"idempotency_key": row["idempotency_key"], "operation": row["operation"], "status": row["status"]},
        session_id=row["session_id"],
        ts=when,
        record_ref=journal_ref(row["idempotency_key"]),
        record_hash=journal_row_hash(row),
    )

"""Operation journal: the kiosk writes down a money movement *before* it asks the core bank.

If the kiosk dies after confirmation, before or after the core call, the journal holds the
idempotency key and the exact parameters. On restart :func:`OperationJournal.recover` asks the
core for the status of each unfinished entry by its key and records what really happened; it
never re-posts. A customer who has walked away is not charged twice, and no posting is lost
from the record.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, Engine, String, Text, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

__all__ = ["JournalEntry", "JournalStatus", "OperationJournal"]


class JournalStatus(StrEnum):
    PENDING = "pending"  # written before the core call
    DONE = "done"
    FAILED = "failed"  # the core refused; nothing moved
    UNKNOWN = "unknown"  # the outcome could not be learned; recover() asks again
    NOT_EXECUTED = "not_executed"  # recovery found the core never saw it


class _Base(DeclarativeBase):
    pass


class JournalEntry(_Base):
    __tablename__ = "operation_journal"

    idempotency_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(80), index=True)
    operation: Mapped[str] = mapped_column(String(40))
    params: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def _now() -> datetime:
    return datetime.now(UTC)


class OperationJournal:
    def __init__(self, engine: Engine, clock: Callable[[], datetime] = _now) -> None:
        self._engine = engine
        self._clock = clock
        _Base.metadata.create_all(engine)

    @classmethod
    def from_url(cls, url: str) -> OperationJournal:
        from vtm.records.db import records_engine

        return cls(records_engine(url))

    def begin(self, key: str, session_id: str, operation: str, params: dict[str, Any]) -> None:
        """Record the intent durably (committed) before the core is called."""
        now = self._clock()
        with Session(self._engine) as db, db.begin():
            existing = db.get(JournalEntry, key)
            if existing is None:
                db.add(JournalEntry(idempotency_key=key, session_id=session_id, operation=operation,
                                    params=json.dumps(params, sort_keys=True, default=str),
                                    status=JournalStatus.PENDING, created_at=now, updated_at=now))

    def finish(self, key: str, status: JournalStatus, result: dict[str, Any] | None = None) -> None:
        with Session(self._engine) as db, db.begin():
            entry = db.get(JournalEntry, key)
            if entry is None:
                raise KeyError(key)
            entry.status = status
            entry.result = json.dumps(result, sort_keys=True, default=str) if result is not None else None
            entry.updated_at = self._clock()

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

    def recover(self, status_of: Callable[[str, str], dict[str, Any] | None]) -> list[tuple[str, JournalStatus]]:
        """Resolve unfinished entries: ``status_of(operation, key)`` asks the core; never re-posts."""
        resolved = []
        for entry in self.unfinished():
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

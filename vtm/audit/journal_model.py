"""The operation journal's table and the content hash that binds each row to the audit chain.

Kept apart from :mod:`vtm.records.journal` (which writes through the audit log) so that the
chain's verifier can read the table without importing the writer; it sits in :mod:`vtm.audit`, like
``compliance_reports`` (:mod:`.tables`), because the chain vouches for its rows and the records
layer is above the audit layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from vtm.common.canonical import canonical_json, sha256_hex

__all__ = [
    "JOURNAL_FIELDS",
    "JournalEntry",
    "JournalStatus",
    "as_utc",
    "journal_metadata",
    "journal_ref",
    "journal_row_hash",
    "journal_table",
    "utc_text",
]


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


journal_metadata = _Base.metadata
journal_table = journal_metadata.tables[JournalEntry.__tablename__]
JOURNAL_FIELDS = (
    "idempotency_key", "session_id", "operation", "params", "status", "result", "created_at", "updated_at"
)


def as_utc(value: datetime) -> datetime:
    """A stored time as an aware UTC one: SQLite gives it back naive (it was written as UTC), PostgreSQL aware."""
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(UTC)


def utc_text(value: datetime) -> str:
    """One text form of a stored time (see :func:`as_utc`)."""
    return as_utc(value).isoformat(timespec="microseconds")


def journal_ref(idempotency_key: str) -> str:
    return f"journal:{idempotency_key}"


def journal_row_hash(row: Mapping[Any, Any]) -> str:
    """SHA-256 of a journal row's canonical content (every column, times in UTC)."""
    content = {name: row[name] for name in JOURNAL_FIELDS}
    content["created_at"] = utc_text(row["created_at"])
    content["updated_at"] = utc_text(row["updated_at"])
    return sha256_hex(canonical_json(content))

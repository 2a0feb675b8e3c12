"""Tables of the session store, in the records database next to the audit chain's own tables.

One ``MetaData`` (:data:`records_metadata`) so the store creates exactly its tables and nothing
else. Times are stored as naive UTC (:class:`UtcDateTime`) so SQLite and PostgreSQL compare and
sort them the same way; they come back timezone-aware.

Per-session flags that the review list filters on (``has_deny``, ``has_refer``,
``min_asr_confidence``, ``turn_count``) are kept on the session row and updated with each turn,
so a filtered, paginated list is one indexed query, not a scan of every turn.

Text columns named ``*_enc`` hold Fernet tokens of raw (unmasked) text; see
:mod:`vtm.records.crypto`. A purge sets them to NULL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

__all__ = [
    "UtcDateTime",
    "access_log",
    "answer_marks",
    "records_metadata",
    "session_notes",
    "session_tags",
    "session_transactions",
    "sessions",
    "turns",
]

records_metadata = MetaData()


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, stored as naive UTC, aware UTC out (identical on SQLite and PostgreSQL)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the session store; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


sessions = Table(
    "record_sessions",
    records_metadata,
    Column("session_id", String(80), primary_key=True),
    Column("kiosk_id", String(64), nullable=False, index=True),
    Column("lang", String(8), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False, index=True),
    Column("ended_at", UtcDateTime(), nullable=True),
    Column("outcome", String(16), nullable=False, default="active", index=True),
    Column(
        "customer_ref_hash",
        String(64),
        nullable=True,
        index=True,
        doc="Keyed SHA-256 of the core's customer reference: links sessions, reveals nobody",
    ),
    Column("turn_count", Integer, nullable=False, default=0),
    Column("has_deny", Boolean, nullable=False, default=False),
    Column("has_refer", Boolean, nullable=False, default=False),
    Column("min_asr_confidence", Float, nullable=True),
    Column("purged_at", UtcDateTime(), nullable=True),
)

session_transactions = Table(
    "record_session_transactions",
    records_metadata,
    Column(
        "session_id",
        String(80),
        ForeignKey("record_sessions.session_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer, primary_key=True),
    Column("name", String(40), nullable=False, index=True),
)

turns = Table(
    "record_turns",
    records_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "session_id", String(80), ForeignKey("record_sessions.session_id", ondelete="CASCADE"), nullable=False
    ),
    Column("turn_no", Integer, nullable=False),
    Column("ts", UtcDateTime(), nullable=False),
    Column("user_text", Text, nullable=True, doc="Masked customer text"),
    Column("user_text_enc", Text, nullable=True, doc="Fernet token of the raw customer text"),
    Column("device", String(200), nullable=True, doc="Masked device command"),
    Column("device_enc", Text, nullable=True, doc="Fernet token of the raw device command (never a PIN)"),
    Column("asr_confidence", Float, nullable=True),
    Column("audio_path", Text, nullable=True),
    Column("intent", String(80), nullable=True, index=True),
    Column("intent_confidence", Float, nullable=True),
    Column("state", String(120), nullable=True),
    Column("slots_json", Text, nullable=False, default="{}"),
    Column("verdicts_json", Text, nullable=False, default="[]"),
    Column("operations_json", Text, nullable=False, default="[]"),
    Column(
        "bot_json", Text, nullable=False, default="[]", doc="Masked replies: [{key, text, interruptible}]"
    ),
    Column("latency_json", Text, nullable=False, default="{}"),
    UniqueConstraint("session_id", "turn_no", name="uq_record_turn"),
)

session_tags = Table(
    "record_tags",
    records_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "session_id",
        String(80),
        ForeignKey("record_sessions.session_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("turn_no", Integer, nullable=True),
    Column("tag", String(40), nullable=False, index=True),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("session_id", "turn_no", "tag", name="uq_record_tag"),
)

session_notes = Table(
    "record_notes",
    records_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "session_id",
        String(80),
        ForeignKey("record_sessions.session_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("turn_no", Integer, nullable=True),
    Column("text", Text, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

access_log = Table(
    "record_access_log",
    records_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", UtcDateTime(), nullable=False, index=True),
    Column("username", String(64), nullable=False, index=True),
    Column("session_id", String(80), nullable=True, index=True),
    Column(
        "action",
        String(32),
        nullable=False,
        doc="view, audio, unmask, export, tag, note, tag_delete(_refused), answer_mark, answer_list, answer_export",
    ),
    Column("turn_no", Integer, nullable=True),
    Column("field", String(32), nullable=True, doc="What was unmasked"),
    Column("reason", Text, nullable=True),
)

answer_marks = Table(
    "record_answer_marks",
    records_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "session_id",
        String(80),
        ForeignKey("record_sessions.session_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("turn_no", Integer, nullable=False),
    Column("position", Integer, nullable=False, doc="Index of the knowledge operation in the turn's operations"),
    Column("answered_entry", String(120), nullable=True, doc="The entry the kiosk answered with; NULL: none"),
    Column("outcome", String(24), nullable=False, doc="answered, declined or refused_by_policy, as recorded"),
    Column("score", Float, nullable=True),
    Column("question", Text, nullable=False, doc="Masked customer question, copied from the turn; purged with it"),
    Column("lang", String(8), nullable=False),
    Column("expected_entry", String(120), nullable=True, doc="The entry that should have answered; NULL: decline"),
    Column("note", Text, nullable=True),
    Column("marked_by", String(64), nullable=False),
    Column("marked_at", UtcDateTime(), nullable=False, index=True),
)
"""Knowledge answers a supervisor marked wrong (:mod:`vtm.records.answer_marks`). Rows are never
updated or deleted by the app: a later mark of the same answer supersedes an earlier one."""

Index("ix_record_turns_session", turns.c.session_id, turns.c.turn_no)

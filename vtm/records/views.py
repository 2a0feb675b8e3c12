"""Read models of the session store: plain frozen values handed to the review app and the CLI.

No SQLAlchemy row leaves the store; these are what callers see.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "PURGED",
    "AccessEntry",
    "NoteView",
    "Outcome",
    "PurgeReport",
    "SessionDetail",
    "SessionFilter",
    "SessionPage",
    "SessionSummary",
    "TagView",
    "TurnView",
]

PURGED = "[purged]"
"""What replaces personal text after the retention period."""


class Outcome(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    HANDED_OFF = "handed_off"
    FAILED = "failed"


@dataclass(frozen=True)
class SessionFilter:
    """Filters of the session list; ``None`` / ``False`` means "any"."""

    started_from: datetime | None = None
    started_before: datetime | None = None
    kiosk_id: str | None = None
    lang: str | None = None
    outcome: Outcome | None = None
    transaction: str | None = None
    handed_off: bool = False
    verdict: str | None = None  # "deny" or "refer"
    asr_below: float | None = None
    tagged: bool = False
    tag: str | None = None
    search: str | None = None


@dataclass(frozen=True)
class SessionSummary:
    session_id: str
    kiosk_id: str
    lang: str
    started_at: datetime
    ended_at: datetime | None
    outcome: str
    transactions: tuple[str, ...]
    turn_count: int
    has_deny: bool
    has_refer: bool
    min_asr_confidence: float | None
    customer_ref: str | None
    tags: tuple[str, ...] = ()
    purged: bool = False


@dataclass(frozen=True)
class SessionPage:
    items: list[SessionSummary]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


@dataclass(frozen=True)
class TurnView:
    turn_no: int
    ts: datetime
    user_text: str | None
    device: str | None
    asr_confidence: float | None
    has_audio: bool
    intent: str | None
    intent_confidence: float | None
    state: str | None
    slots: dict[str, Any]
    verdicts: list[dict[str, Any]]
    operations: list[dict[str, Any]]
    bot: list[dict[str, Any]]
    latency_ms: dict[str, float]
    has_raw_user: bool = False
    has_raw_device: bool = False


@dataclass(frozen=True)
class TagView:
    tag: str
    turn_no: int | None
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class NoteView:
    note_id: int
    text: str
    turn_no: int | None
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class SessionDetail:
    summary: SessionSummary
    turns: list[TurnView]
    tags: list[TagView] = field(default_factory=list)
    notes: list[NoteView] = field(default_factory=list)


@dataclass(frozen=True)
class AccessEntry:
    ts: datetime
    username: str
    session_id: str | None
    action: str
    turn_no: int | None
    field: str | None
    reason: str | None


@dataclass(frozen=True)
class PurgeReport:
    sessions: int
    turns: int
    audio_files: int
    audit_payloads: int

"""Knowledge answers marked wrong by a supervisor: kept durably, each mark sealed in the audit chain.

A mark names one knowledge operation of a recorded turn (session, turn, position in the turn's
operations), copies what the kiosk did (the entry it answered with, the outcome, the score, the
masked question and its language) and says what it should have done: answer with
``expected_entry``, or decline (``expected_entry`` is None). The row and its ``staff_answer_mark``
audit entry are written in one transaction (:meth:`AuditLog.transact`): both exist or neither.

Marks are never edited or deleted by the app. Marking the same answer again adds a row;
:meth:`AnswerMarkStore.current` gives the newest mark of each answer, which is what is exported
as a test case (:mod:`vtm.review.kb_cases`). The retention purge (:mod:`vtm.records.purge`)
replaces the copied question with ``[purged]`` along with the session's own text.

Usage::

    marks = AnswerMarkStore(audit)                  # the audit log on the records database
    mark = marks.record(NewAnswerMark(...), role="supervisor")
    marks.current()                                 # newest mark per answer, newest first
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, func, insert, select

from vtm.audit import AuditLog, Draft
from vtm.common.masking import mask_text
from vtm.records.schema import answer_marks, sessions
from vtm.records.store import UnknownSession

__all__ = ["ANSWER_MARK_KIND", "AnswerMark", "AnswerMarkStore", "KnowledgeOutcome", "NewAnswerMark"]

ANSWER_MARK_KIND = "staff_answer_mark"
"""The audit entry kind of a mark."""


class KnowledgeOutcome(StrEnum):
    """What the kiosk did with a question, as :mod:`vtm.dialog.knowledge` records it (``result``)."""

    ANSWERED = "answered"
    DECLINED = "declined"
    REFUSED_BY_POLICY = "refused_by_policy"  # an entry matched; the gate forbade the topic


@dataclass(frozen=True)
class NewAnswerMark:
    """A mark about to be recorded; ``question`` must already be masked (it is copied from the turn)."""

    session_id: str
    turn_no: int
    position: int
    answered_entry: str | None
    outcome: KnowledgeOutcome
    score: float | None
    question: str
    lang: str
    expected_entry: str | None
    note: str | None
    marked_by: str


@dataclass(frozen=True)
class AnswerMark(NewAnswerMark):
    """A recorded mark."""

    mark_id: int
    marked_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


class AnswerMarkStore:
    """Marks in the records database, written through ``audit`` (which must be on that database)."""

    def __init__(self, audit: AuditLog, *, clock: Callable[[], datetime] = _now, create: bool = True) -> None:
        self._audit = audit
        self._engine = audit.engine
        self._clock = clock
        if create:
            answer_marks.create(self._engine, checkfirst=True)

    def record(self, mark: NewAnswerMark, *, role: str) -> AnswerMark:
        """Store ``mark`` and seal it in the audit chain, in one transaction.

        Raises :class:`~vtm.records.store.UnknownSession` when the session is not recorded.
        """
        marked_at = self._clock()
        created: list[AnswerMark] = []

        def build(conn: Connection, _seq: int) -> Draft:
            known = conn.execute(select(sessions.c.session_id).where(sessions.c.session_id == mark.session_id))
            if known.first() is None:
                raise UnknownSession(f"no session {mark.session_id}")
            values = asdict(mark) | {"outcome": mark.outcome.value, "marked_at": marked_at}
            key = conn.execute(insert(answer_marks).values(**values)).inserted_primary_key
            assert key is not None
            created[:] = [AnswerMark(**asdict(mark), mark_id=int(key[0]), marked_at=marked_at)]
            payload = {
                "mark": int(key[0]),
                "user": mark.marked_by,
                "role": role,
                "turn": mark.turn_no,
                "position": mark.position,
                "answered_entry": mark.answered_entry,
                "outcome": mark.outcome.value,
                "score": mark.score,
                "expected_entry": mark.expected_entry,
                "note": None if mark.note is None else mask_text(mark.note),
            }
            return Draft(ANSWER_MARK_KIND, payload, session_id=mark.session_id, ts=marked_at)

        self._audit.transact(build)
        return created[0]

    def for_session(self, session_id: str) -> list[AnswerMark]:
        """Every mark on the session's answers, oldest first (superseded ones included)."""
        query = select(answer_marks).where(answer_marks.c.session_id == session_id).order_by(answer_marks.c.id)
        with self._engine.connect() as conn:
            return [_mark(row) for row in conn.execute(query)]

    def current(self) -> list[AnswerMark]:
        """The newest mark of every marked answer, newest first."""
        newest = select(func.max(answer_marks.c.id)).group_by(
            answer_marks.c.session_id, answer_marks.c.turn_no, answer_marks.c.position
        )
        query = select(answer_marks).where(answer_marks.c.id.in_(newest)).order_by(answer_marks.c.id.desc())
        with self._engine.connect() as conn:
            return [_mark(row) for row in conn.execute(query)]


def _mark(row: Any) -> AnswerMark:
    return AnswerMark(
        session_id=row.session_id,
        turn_no=row.turn_no,
        position=row.position,
        answered_entry=row.answered_entry,
        outcome=KnowledgeOutcome(row.outcome),
        score=row.score,
        question=row.question,
        lang=row.lang,
        expected_entry=row.expected_entry,
        note=row.note,
        marked_by=row.marked_by,
        mark_id=row.id,
        marked_at=row.marked_at,
    )

"""Knowledge answers marked wrong: stored with the audit entry or not at all, superseded, purged with the session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vtm.audit import AuditKeyring, AuditLog
from vtm.dialog.turn import TurnRecord
from vtm.records.answer_marks import ANSWER_MARK_KIND, AnswerMarkStore, KnowledgeOutcome, NewAnswerMark
from vtm.records.purge import purge_before
from vtm.records.store import SessionStore, UnknownSession
from vtm.records.views import PURGED

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
OLD = T0 - timedelta(days=400)
QUESTION = "我的卡在ATM里被吞了怎么办"


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore.from_url(f"sqlite:///{tmp_path / 'records.sqlite3'}")


@pytest.fixture
def audit(store: SessionStore) -> AuditLog:
    return AuditLog(store.engine, AuditKeyring.ephemeral())


@pytest.fixture
def marks(audit: AuditLog) -> AnswerMarkStore:
    return AnswerMarkStore(audit, clock=lambda: T0)


def _session(store: SessionStore, session_id: str, started: datetime) -> None:
    store.open_session(session_id, "VTM-0001", "zh", started)
    op = {"operation": "knowledge", "key": "cards.frozen", "result": "answered", "score": 0.71,
          "question": QUESTION, "screen": "冻结的原因有多种"}
    store.record_turn(session_id, TurnRecord(turn=2, user=QUESTION, operations=[op]), [], ts=started)


def _mark(session_id: str, expected: str | None = "cards.swallowed", by: str = "sam") -> NewAnswerMark:
    return NewAnswerMark(
        session_id=session_id,
        turn_no=2,
        position=0,
        answered_entry="cards.frozen",
        outcome=KnowledgeOutcome.ANSWERED,
        score=0.71,
        question=QUESTION,
        lang="zh",
        expected_entry=expected,
        note="ATM 吞卡",
        marked_by=by,
    )


def test_a_mark_is_stored_with_who_and_when_and_sealed_in_the_chain(
    store: SessionStore, audit: AuditLog, marks: AnswerMarkStore
) -> None:
    _session(store, "S-1", T0)
    mark = marks.record(_mark("S-1"), role="supervisor")
    assert (mark.marked_by, mark.marked_at, mark.expected_entry) == ("sam", T0, "cards.swallowed")
    assert marks.for_session("S-1") == [mark]
    [entry] = audit.entries(session_id="S-1", kind=ANSWER_MARK_KIND)
    assert entry.payload is not None
    assert (entry.payload["mark"], entry.payload["user"], entry.payload["role"]) == (mark.mark_id, "sam", "supervisor")
    assert audit.verify().ok


def test_a_mark_on_a_session_never_recorded_leaves_neither_row_nor_audit_entry(
    audit: AuditLog, marks: AnswerMarkStore
) -> None:
    with pytest.raises(UnknownSession):
        marks.record(_mark("S-nobody"), role="supervisor")
    assert marks.current() == []
    assert not list(audit.entries())


def test_the_newest_mark_of_each_answer_is_current_and_the_history_stays(
    store: SessionStore, marks: AnswerMarkStore
) -> None:
    _session(store, "S-1", T0)
    _session(store, "S-2", T0)
    first = marks.record(_mark("S-1", "cards.damaged"), role="supervisor")
    other = marks.record(_mark("S-2", None), role="supervisor")
    second = marks.record(_mark("S-1", "cards.swallowed", by="sue"), role="supervisor")
    assert marks.current() == [second, other]
    assert marks.for_session("S-1") == [first, second]


def test_the_purge_removes_the_customer_s_question_from_the_turn_and_the_mark(
    store: SessionStore, audit: AuditLog, marks: AnswerMarkStore
) -> None:
    _session(store, "S-old", OLD)
    _session(store, "S-new", T0)
    marks.record(_mark("S-old"), role="supervisor")
    marks.record(_mark("S-new"), role="supervisor")
    purge_before(audit, T0 - timedelta(days=180))
    new_mark, old_mark = sorted(marks.current(), key=lambda m: m.session_id)
    assert (new_mark.session_id, new_mark.question) == ("S-new", QUESTION)
    assert (old_mark.session_id, old_mark.question) == ("S-old", PURGED)
    assert old_mark.expected_entry == "cards.swallowed"  # what the supervisor decided stays
    [op] = store.get_session("S-old").turns[0].operations
    assert op["question"] == PURGED
    assert (op["key"], op["result"], op["score"]) == ("cards.frozen", "answered", 0.71)  # what happened stays
    assert store.get_session("S-new").turns[0].operations[0]["question"] == QUESTION
    assert audit.verify().ok

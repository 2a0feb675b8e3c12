"""Marked answers as knowledge-base test cases, and reading knowledge answers out of a recorded session."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime

from vtm.records.answer_marks import AnswerMark, KnowledgeOutcome
from vtm.records.views import PURGED, SessionDetail, SessionSummary, TurnView
from vtm.review.kb_cases import kb_cases, kb_cases_csv
from vtm.review.knowledge_answers import find_answer, knowledge_answers

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _mark(question: str, expected: str | None, lang: str = "zh", mark_id: int = 1) -> AnswerMark:
    return AnswerMark(
        session_id="S-1", turn_no=2, position=0, answered_entry="cards.frozen", outcome=KnowledgeOutcome.ANSWERED,
        score=0.7, question=question, lang=lang, expected_entry=expected, note=None, marked_by="sam",
        mark_id=mark_id, marked_at=T0,
    )


def test_the_newest_mark_of_a_question_wins_and_purged_questions_are_left_out() -> None:
    newest_first = [
        _mark("卡被吞了", "cards.swallowed", mark_id=3),
        _mark(PURGED, "cards.damaged", mark_id=2),
        _mark("卡被吞了", "cards.damaged", mark_id=1),
        _mark("卡被吞了", None, lang="en", mark_id=0),
    ]
    assert [(c.text, c.lang, c.entry, c.kind) for c in kb_cases(newest_first)] == [
        ("卡被吞了", "zh", "cards.swallowed", "answerable"),
        ("卡被吞了", "en", None, "unanswerable"),
    ]


def test_a_text_a_spreadsheet_would_run_is_written_as_text() -> None:
    text = kb_cases_csv(kb_cases([_mark('=HYPERLINK("http://evil.example")', None), _mark("+86 问题", None)]))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][0] == "'=HYPERLINK(\"http://evil.example\")"
    assert rows[2][0] == "'+86 问题"


def _detail(lang: str, *operations: list[dict[str, object]]) -> SessionDetail:
    summary = SessionSummary("S-1", "VTM-0001", lang, T0, None, "completed", (), len(operations), False, False,
                             None, None)
    turn = TurnView(1, T0, None, None, None, False, None, None, None, {}, [], [], [], {})
    return SessionDetail(summary, [replace(turn, turn_no=n, operations=ops) for n, ops in enumerate(operations, 1)])


def test_knowledge_operations_are_read_with_entry_topic_score_and_language() -> None:
    detail = _detail(
        "zh",
        [{"operation": "knowledge", "key": "cards.frozen", "result": "answered", "score": 0.906,
          "question": "卡冻结了"}],
        [
            {"operation": "handoff", "key": None, "result": "requested"},
            {"operation": "knowledge", "key": None, "result": "declined", "score": 0.41, "question": "is it raining"},
        ],
        [{"operation": "knowledge", "key": "x.y", "result": "something_new", "score": 0.5, "question": "?"}],
    )
    answers = knowledge_answers(detail)
    assert set(answers) == {1, 2}  # an outcome this version does not know is left to the plain view
    first = answers[1][0]
    assert (first.entry_id, first.topic, first.score, first.lang, first.declined) == (
        "cards.frozen", "cards", 0.906, "zh", False)
    second = find_answer(detail, 2, 1)
    assert second is not None
    assert (second.entry_id, second.topic, second.lang, second.declined) == (None, None, "en", True)
    assert find_answer(detail, 2, 0) is None


def test_a_question_without_letters_takes_the_session_s_language() -> None:
    detail = _detail("en", [{"operation": "knowledge", "key": None, "result": "declined", "score": 0.1,
                             "question": "6230 **** **** 9930"}])
    answer = find_answer(detail, 1, 0)
    assert answer is not None
    assert answer.lang == "en"

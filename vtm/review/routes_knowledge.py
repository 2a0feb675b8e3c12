"""Knowledge answers in the review app: which entry answered, marking a wrong one, the test-case export.

Every reviewer sees, on a session's timeline, the entry each question was answered with (id,
topic, title, score) or that the kiosk declined (:mod:`vtm.review.knowledge_answers`). A
supervisor may mark an answer wrong, naming the entry that should have answered or none (the kiosk
should have declined), with a note: the mark is stored with the supervisor and the time, sealed
in the audit chain in the same transaction (:mod:`vtm.records.answer_marks`) and written to the
staff access log. ``/answers`` lists the current marks; ``/answers/export`` downloads them as test
cases for ``vtm kb evaluate`` (:mod:`vtm.review.kb_cases`), logged and audited the same way as
``vtm review export-kb-cases``.

Refusals: a reviewer gets 403 on all of it except the view; an unknown session or an operation
that is not a knowledge answer 404; an entry id the knowledge base does not have, the entry that
did answer, or a decline marked wrong without the entry that should have answered, 422; a
knowledge folder that does not load, 503 (nothing is recorded in any of these cases).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from vtm.records.answer_marks import AnswerMark, KnowledgeOutcome, NewAnswerMark
from vtm.records.store import UnknownSession
from vtm.records.views import SessionDetail
from vtm.review.context import ReviewContext, csrf_checked, require, review_context
from vtm.review.kb_cases import export_kb_cases
from vtm.review.knowledge_answers import KnowledgeAnswer, find_answer, knowledge_answers
from vtm.review.knowledge_index import KnowledgeIndex, KnowledgeUnavailable
from vtm.review.params import PositionPath, TurnNoPath
from vtm.review.users import Role, WebSession

__all__ = ["ANSWER_LIST", "ANSWER_MARK", "MAX_ENTRY_ID", "MAX_MARK_NOTE", "answer_panel", "router"]

ANSWER_MARK = "answer_mark"
ANSWER_LIST = "answer_list"
MAX_ENTRY_ID = 120
MAX_MARK_NOTE = 1000

router = APIRouter()
_log = logging.getLogger("vtm.review.knowledge")


def answer_panel(ctx: ReviewContext, detail: SessionDetail) -> dict[str, Any]:
    """What the session page shows of its knowledge answers (template values).

    ``answers``: turn -> position -> :class:`KnowledgeAnswer`; ``answer_marks``: (turn, position)
    -> the newest mark; ``kb_index``: the entries (titles, the correction's choices), or None with
    ``kb_problem`` saying why. The knowledge content is loaded only for a session that has answers.
    """
    answers = knowledge_answers(detail)
    marks: dict[tuple[int, int], AnswerMark] = {}
    for mark in ctx.marks.for_session(detail.summary.session_id):
        marks[(mark.turn_no, mark.position)] = mark  # oldest first: the newest stays
    index: KnowledgeIndex | None = None
    problem: str | None = None
    if answers:
        try:
            index = ctx.knowledge.get()
        except KnowledgeUnavailable as exc:
            problem = exc.reason
    return {"answers": answers, "answer_marks": marks, "kb_index": index, "kb_problem": problem}


def _expected_entry(ctx: ReviewContext, request: Request, answer: KnowledgeAnswer, given: str) -> str | None:
    """The checked correction: an answerable entry's id, or None for "should have declined"."""
    text = ctx.catalog.text
    lang = ctx.lang(request)
    entry_id = given.strip() or None
    if entry_id is None:
        if answer.declined:
            raise HTTPException(422, text(lang, "kb.decline_needs_entry"))
        return None
    try:
        index = ctx.knowledge.get()
    except KnowledgeUnavailable as exc:
        raise HTTPException(503, f"{text(lang, 'kb.unavailable')} {exc.reason}") from exc
    if index.entry(entry_id) is None:
        raise HTTPException(422, text(lang, "kb.unknown_entry"))
    if entry_id == answer.entry_id and answer.outcome is KnowledgeOutcome.ANSWERED:
        raise HTTPException(422, text(lang, "kb.same_entry"))
    return entry_id


@router.post("/sessions/{session_id}/turns/{turn_no}/answers/{position}/mark")
def mark_answer(
    request: Request,
    session_id: str,
    turn_no: TurnNoPath,
    position: PositionPath,
    web: Annotated[WebSession, Depends(csrf_checked(Role.SUPERVISOR))],
    expected_entry: Annotated[str, Form(max_length=MAX_ENTRY_ID)] = "",
    note: Annotated[str, Form(max_length=MAX_MARK_NOTE)] = "",
) -> Response:
    ctx = review_context(request)
    try:
        detail = ctx.store.get_session(session_id)
    except UnknownSession as exc:
        raise HTTPException(404, "no such session") from exc
    answer = find_answer(detail, turn_no, position)
    if answer is None:
        raise HTTPException(404, "no knowledge answer at this turn and position")
    expected = _expected_entry(ctx, request, answer, expected_entry)
    actor, role = web.user.username, web.user.role.value
    try:
        mark = ctx.marks.record(
            NewAnswerMark(
                session_id=session_id,
                turn_no=turn_no,
                position=position,
                answered_entry=answer.entry_id,
                outcome=answer.outcome,
                score=answer.score,
                question=answer.question,
                lang=answer.lang,
                expected_entry=expected,
                note=" ".join(note.split()) or None,
                marked_by=actor,
            ),
            role=role,
        )
    except UnknownSession as exc:  # purged away between the read and the write
        raise HTTPException(404, "no such session") from exc
    detail_json = {"mark": mark.mark_id, "answered": answer.entry_id, "expected": expected, "role": role}
    ctx.store.log_access(
        actor,
        session_id,
        ANSWER_MARK,
        turn_no=turn_no,
        field="answer",
        reason=json.dumps(detail_json, ensure_ascii=False),
    )
    _log.info(
        "event=review_answer_mark session=%s turn=%s position=%s user=%s role=%s answered=%s expected=%s mark=%s",
        session_id,
        turn_no,
        position,
        actor,
        role,
        answer.entry_id,
        expected,
        mark.mark_id,
    )
    return RedirectResponse(f"/sessions/{session_id}#turn-{turn_no}", status_code=303)


@router.get("/answers", response_class=HTMLResponse)
def marked_answers(request: Request, web: Annotated[WebSession, Depends(require(Role.SUPERVISOR))]) -> Response:
    ctx = review_context(request)
    marks = ctx.marks.current()
    ctx.store.log_access(web.user.username, None, ANSWER_LIST)
    return ctx.render(request, "answers.html", web, marks=marks)


@router.post("/answers/export")
def export_answers(
    request: Request, web: Annotated[WebSession, Depends(csrf_checked(Role.SUPERVISOR))]
) -> Response:
    ctx = review_context(request)
    export = export_kb_cases(ctx.marks, ctx.store, ctx.audit, user=web.user.username, role=web.user.role.value)
    _log.info(
        "event=review_answer_export user=%s role=%s cases=%d marks=%d",
        web.user.username,
        web.user.role.value,
        export.cases,
        export.marks,
    )
    filename = f"kb-cases-{datetime.now(UTC).astimezone(ctx.tz):%Y%m%d-%H%M%S}.csv"
    return Response(
        export.csv_text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )

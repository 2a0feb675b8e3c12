"""Staff annotations on a session: tags (added and removed) and notes (added only).

Every write is in the staff access log. Removing a tag undoes someone's work, so it is checked
against :func:`vtm.review.permissions.may_remove_tag` and recorded, before the row goes, with the
actor, the actor's role, the tag (session, turn, text) and its owner: in the access log (the
role and the owner, which have no column there, as JSON in its free-text column) and in the
audit chain (so that removing the log row afterwards would show). A refused attempt is logged too.

Notes have no delete route on purpose (see :mod:`vtm.review.permissions`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from vtm.common.masking import mask_text
from vtm.records.store import RecordsError, UnknownSession
from vtm.review.context import Forbidden, ReviewContext, csrf_checked, review_context
from vtm.review.params import TurnNoForm
from vtm.review.permissions import may_remove_tag
from vtm.review.users import WebSession

__all__ = ["TAG_DELETE", "TAG_DELETE_REFUSED", "router"]

TAG_DELETE = "tag_delete"
TAG_DELETE_REFUSED = "tag_delete_refused"

router = APIRouter()
_log = logging.getLogger("vtm.review.annotations")


def _store_write(write: Callable[[], object]) -> None:
    """A staff write to a session: an unknown session is a 404, a rejected value a 400."""
    try:
        write()
    except UnknownSession as exc:
        raise HTTPException(404, "no such session") from exc
    except RecordsError as exc:
        raise HTTPException(400, str(exc)) from exc


@router.post("/sessions/{session_id}/tags")
def add_tag(
    request: Request,
    session_id: str,
    web: Annotated[WebSession, Depends(csrf_checked())],
    tag: Annotated[str, Form()],
    turn_no: TurnNoForm = None,
) -> Response:
    ctx = review_context(request)
    _store_write(lambda: ctx.store.add_tag(session_id, tag, web.user.username, turn_no))
    ctx.store.log_access(web.user.username, session_id, "tag", turn_no=turn_no)
    return RedirectResponse(f"/sessions/{session_id}#tags", status_code=303)


def _tag_owner(ctx: ReviewContext, session_id: str, tag: str, turn_no: int | None) -> str:
    try:
        tags = ctx.store.get_session(session_id).tags
    except UnknownSession as exc:
        raise HTTPException(404, "no such session") from exc
    for found in tags:
        if found.tag == tag and found.turn_no == turn_no:
            return found.created_by
    raise HTTPException(404, "no such tag")


@router.post("/sessions/{session_id}/tags/delete")
def remove_tag(
    request: Request,
    session_id: str,
    web: Annotated[WebSession, Depends(csrf_checked())],
    tag: Annotated[str, Form()],
    turn_no: TurnNoForm = None,
) -> Response:
    ctx = review_context(request)
    owner = _tag_owner(ctx, session_id, tag, turn_no)
    actor, role = web.user.username, web.user.role.value
    detail = {"tag": mask_text(tag), "owner": owner, "role": role}
    allowed = may_remove_tag(web.user, owner)
    action = TAG_DELETE if allowed else TAG_DELETE_REFUSED
    ctx.store.log_access(
        actor, session_id, action, turn_no=turn_no, field="tag", reason=json.dumps(detail, ensure_ascii=False)
    )
    _log.info(
        "event=review_%s session=%s turn=%s user=%s role=%s owner=%s", action, session_id, turn_no, actor, role, owner
    )
    if not allowed:
        raise Forbidden("only the tag's author, a supervisor or an admin may remove it")
    ctx.audit.append(f"staff_{TAG_DELETE}", {"user": actor, "turn": turn_no, **detail}, session_id=session_id)
    if not ctx.store.remove_tag(session_id, tag, turn_no, created_by=owner):
        raise HTTPException(404, "no such tag")  # removed (or replaced) by someone else meanwhile
    return RedirectResponse(f"/sessions/{session_id}#tags", status_code=303)


@router.post("/sessions/{session_id}/notes")
def add_note(
    request: Request,
    session_id: str,
    web: Annotated[WebSession, Depends(csrf_checked())],
    text: Annotated[str, Form()],
    turn_no: TurnNoForm = None,
) -> Response:
    ctx = review_context(request)
    _store_write(lambda: ctx.store.add_note(session_id, text, web.user.username, turn_no))
    ctx.store.log_access(web.user.username, session_id, "note", turn_no=turn_no)
    return RedirectResponse(f"/sessions/{session_id}#notes", status_code=303)

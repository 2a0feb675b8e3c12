"""Session pages: list with filters, detail timeline, audio, unmask and export.

Tags and notes are in :mod:`vtm.review.routes_annotations`; the knowledge answers shown on the
timeline, and marking them wrong, in :mod:`vtm.review.routes_knowledge`. Every look at a session is written
to the staff access log; an unmask or an export (supervisor, with a reason) is also appended to
the audit chain, so the record of who saw what is itself tamper-evident.
"""

from __future__ import annotations

import json
import mimetypes
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from vtm.common.masking import mask_text, mask_value
from vtm.records.store import UnknownSession
from vtm.records.views import Outcome
from vtm.review.context import ReviewContext, csrf_checked, review_context, staff
from vtm.review.export import ExportError, export_session
from vtm.review.params import SessionQuery, TurnNoPath
from vtm.review.permissions import may_remove_tag
from vtm.review.routes_knowledge import answer_panel
from vtm.review.users import Role, WebSession

__all__ = ["router"]

router = APIRouter()


@router.get("/sessions", response_class=HTMLResponse)
def session_list(
    request: Request, web: Annotated[WebSession, Depends(staff)], query: Annotated[SessionQuery, Query()]
) -> Response:
    ctx = review_context(request)
    params = query.as_params()
    result = ctx.store.list_sessions(
        query.to_filter(ctx.tz, ctx.options.low_asr_threshold), page=query.page, per_page=ctx.options.per_page
    )
    base = urlencode(params)
    return ctx.render(
        request,
        "sessions.html",
        web,
        page=result,
        params=params,
        base_query=base,
        kiosks=ctx.store.kiosks(),
        transactions=ctx.store.transaction_names(),
        outcomes=[o.value for o in Outcome],
    )


def _masked_payload(value: Any, key: str = "") -> Any:
    """An audit payload for display: each value masked by its key (``payee_name``, ``account``...)."""
    if isinstance(value, dict):
        return {k: _masked_payload(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked_payload(v, key) for v in value]
    if key:
        return mask_value(key, value)
    return mask_text(value) if isinstance(value, str) else value


def _detail_page(
    request: Request,
    web: WebSession,
    session_id: str,
    status: int = 200,
    revealed: dict[tuple[int, str], str] | None = None,
    message: str | None = None,
) -> Response:
    ctx = review_context(request)
    try:
        detail = ctx.store.get_session(session_id)
    except UnknownSession as exc:
        raise HTTPException(404, "no such session") from exc
    chain = ctx.audit.verify()
    entries = [
        {
            "seq": e.seq,
            "ts": e.ts,
            "kind": e.kind,
            "payload": None if e.payload is None else json.dumps(_masked_payload(e.payload), ensure_ascii=False),
        }
        for e in ctx.audit.entries(session_id=session_id)
    ]
    return ctx.render(
        request,
        "session.html",
        web,
        status=status,
        detail=detail,
        chain=chain,
        audit_entries=entries,
        revealed=revealed or {},
        message=message,
        can_unmask=ctx.store.can_unmask,
        min_reason=ctx.options.min_reason_chars,
        may_remove_tag=may_remove_tag,
        **answer_panel(ctx, detail),
    )


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
def session_detail(request: Request, session_id: str, web: Annotated[WebSession, Depends(staff)]) -> Response:
    response = _detail_page(request, web, session_id)
    review_context(request).store.log_access(web.user.username, session_id, "view")
    return response


@router.get("/sessions/{session_id}/turns/{turn_no}/audio")
def turn_audio(
    request: Request, session_id: str, turn_no: TurnNoPath, web: Annotated[WebSession, Depends(staff)]
) -> Response:
    ctx = review_context(request)
    try:
        path = ctx.store.audio_path(session_id, turn_no)
    except UnknownSession as exc:
        raise HTTPException(404, "no such turn") from exc
    root = ctx.settings.audio_dir.resolve()
    if path is None or not path.resolve().is_relative_to(root) or not path.is_file():
        raise HTTPException(404, "no audio for this turn")
    ctx.store.log_access(web.user.username, session_id, "audio", turn_no=turn_no)
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type)


def _reason_ok(ctx: ReviewContext, reason: str) -> str | None:
    clean = " ".join(reason.split())
    return clean if len(clean) >= ctx.options.min_reason_chars else None


def _audited(ctx: ReviewContext, web: WebSession, session_id: str, action: str, reason: str, **detail: Any) -> None:
    """Staff access log and audit chain, both before the data is shown."""
    turn_no = detail.get("turn")
    ctx.store.log_access(
        web.user.username, session_id, action, turn_no=turn_no, field=detail.get("field"), reason=reason
    )
    ctx.audit.append(
        f"staff_{action}",
        {"user": web.user.username, "role": web.user.role.value, "reason": mask_text(reason), **detail},
        session_id=session_id,
    )


@router.post("/sessions/{session_id}/turns/{turn_no}/unmask", response_class=HTMLResponse)
def unmask(
    request: Request,
    session_id: str,
    turn_no: TurnNoPath,
    web: Annotated[WebSession, Depends(csrf_checked(Role.SUPERVISOR))],
    field: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    ctx = review_context(request)
    t = ctx.catalog.text
    if field not in ("user", "device"):
        raise HTTPException(400, "field must be user or device")
    clean = _reason_ok(ctx, reason)
    if clean is None:
        return _detail_page(
            request, web, session_id, status=400, message=t(ctx.lang(request), "unmask.reason_required")
        )
    try:
        raw_user, raw_device = ctx.store.reveal(session_id, turn_no)
    except UnknownSession as exc:
        raise HTTPException(404, "no such turn") from exc
    value = raw_user if field == "user" else raw_device
    if value is None:
        return _detail_page(request, web, session_id, status=404, message=t(ctx.lang(request), "unmask.not_kept"))
    _audited(ctx, web, session_id, "unmask", clean, turn=turn_no, field=field)
    return _detail_page(request, web, session_id, revealed={(turn_no, field): value})


@router.post("/sessions/{session_id}/export")
def export(
    request: Request,
    session_id: str,
    web: Annotated[WebSession, Depends(csrf_checked(Role.SUPERVISOR))],
    reason: Annotated[str, Form()] = "",
    test_pin: Annotated[str, Form()] = "",
) -> Response:
    ctx = review_context(request)
    clean = _reason_ok(ctx, reason)
    if clean is None:
        return _detail_page(
            request,
            web,
            session_id,
            status=400,
            message=ctx.catalog.text(ctx.lang(request), "unmask.reason_required"),
        )
    try:
        result = export_session(ctx.store, session_id, tz=ctx.tz, test_pin=test_pin)
    except UnknownSession as exc:
        raise HTTPException(404, "no such session") from exc
    except ExportError as exc:
        return _detail_page(request, web, session_id, status=400, message=str(exc))
    _audited(ctx, web, session_id, "export", clean, warnings=len(result.warnings))
    filename = f"{session_id}.yaml"
    return Response(
        result.yaml_text,
        media_type="application/x-yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )

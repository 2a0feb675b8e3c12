"""Session pages: list with filters, detail timeline, audio, tags, notes, unmask and export.

Every look at a session is written to the staff access log; an unmask or an export (supervisor,
with a reason) is also appended to the audit chain, so the record of who saw what is itself
tamper-evident.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from vtm.records.masking import mask_text, mask_value
from vtm.records.store import RecordsError, UnknownSession
from vtm.records.views import Outcome, SessionFilter
from vtm.review.context import ReviewContext, csrf_checked, staff
from vtm.review.export import ExportError, export_session
from vtm.review.users import Role, WebSession

__all__ = ["router"]

router = APIRouter()

_FILTER_KEYS = (
    "date_from",
    "date_to",
    "kiosk",
    "language",
    "outcome",
    "transaction",
    "handed_off",
    "verdict",
    "low_asr",
    "tagged",
    "q",
)


def _ctx(request: Request) -> ReviewContext:
    ctx = request.app.state.review
    assert isinstance(ctx, ReviewContext)
    return ctx


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _filters(ctx: ReviewContext, params: dict[str, str]) -> SessionFilter:
    tz = ctx.tz
    start, end = _day(params.get("date_from")), _day(params.get("date_to"))
    outcome = params.get("outcome") or None
    return SessionFilter(
        started_from=None if start is None else datetime.combine(start, time(0), tzinfo=tz),
        started_before=None if end is None else datetime.combine(end + timedelta(days=1), time(0), tzinfo=tz),
        kiosk_id=params.get("kiosk") or None,
        lang=params.get("language") or None,
        outcome=Outcome(outcome) if outcome in {o.value for o in Outcome} else None,
        transaction=params.get("transaction") or None,
        handed_off=params.get("handed_off") == "1",
        verdict=params.get("verdict") if params.get("verdict") in ("deny", "refer") else None,
        asr_below=ctx.options.low_asr_threshold if params.get("low_asr") == "1" else None,
        tagged=params.get("tagged") == "1",
        search=(params.get("q") or "")[:200] or None,
    )


@router.get("/sessions", response_class=HTMLResponse)
def session_list(request: Request, web: Annotated[WebSession, Depends(staff)], page: int = 1) -> Response:
    ctx = _ctx(request)
    params = {k: v for k in _FILTER_KEYS if (v := request.query_params.get(k))}
    result = ctx.store.list_sessions(_filters(ctx, params), page=max(1, page), per_page=ctx.options.per_page)
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
    ctx = _ctx(request)
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
    )


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
def session_detail(request: Request, session_id: str, web: Annotated[WebSession, Depends(staff)]) -> Response:
    response = _detail_page(request, web, session_id)
    _ctx(request).store.log_access(web.user.username, session_id, "view")
    return response


@router.get("/sessions/{session_id}/turns/{turn_no}/audio")
def turn_audio(request: Request, session_id: str, turn_no: int, web: Annotated[WebSession, Depends(staff)]) -> Response:
    ctx = _ctx(request)
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


def _turn_no(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None


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
    turn_no: Annotated[str, Form()] = "",
) -> Response:
    ctx = _ctx(request)
    _store_write(lambda: ctx.store.add_tag(session_id, tag, web.user.username, _turn_no(turn_no)))
    ctx.store.log_access(web.user.username, session_id, "tag", turn_no=_turn_no(turn_no))
    return RedirectResponse(f"/sessions/{session_id}#tags", status_code=303)


@router.post("/sessions/{session_id}/tags/delete")
def remove_tag(
    request: Request,
    session_id: str,
    web: Annotated[WebSession, Depends(csrf_checked())],
    tag: Annotated[str, Form()],
    turn_no: Annotated[str, Form()] = "",
) -> Response:
    _ctx(request).store.remove_tag(session_id, tag, _turn_no(turn_no))
    return RedirectResponse(f"/sessions/{session_id}#tags", status_code=303)


@router.post("/sessions/{session_id}/notes")
def add_note(
    request: Request,
    session_id: str,
    web: Annotated[WebSession, Depends(csrf_checked())],
    text: Annotated[str, Form()],
    turn_no: Annotated[str, Form()] = "",
) -> Response:
    ctx = _ctx(request)
    _store_write(lambda: ctx.store.add_note(session_id, text, web.user.username, _turn_no(turn_no)))
    ctx.store.log_access(web.user.username, session_id, "note", turn_no=_turn_no(turn_no))
    return RedirectResponse(f"/sessions/{session_id}#notes", status_code=303)


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
    turn_no: int,
    web: Annotated[WebSession, Depends(csrf_checked(Role.SUPERVISOR))],
    field: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    ctx = _ctx(request)
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
    ctx = _ctx(request)
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

"""The staff review web app: FastAPI + Jinja2, server-rendered, no CDN, no inline script.

``create_app(settings)`` wires the session store and the audit chain (the records database),
the staff users, the login rate limiter and the zh/en UI text. Pages:

=========================  ===========  ==========================================================
``/login`` ``/logout``     anyone       argon2 passwords; failures limited per username and per
                                        address (default 5 and 20 in 15 min) -> 429
``/sessions``              reviewer     filters, search, pagination
``/sessions/{id}``         reviewer     timeline, audio, verdicts, audit status, tags, notes
``.../tags/delete``        reviewer     own tags; anyone's for a supervisor; logged and audited
``.../unmask`` ``/export`` supervisor   with a stated reason; logged and appended to the audit chain
``.../answers/{n}/mark``   supervisor   mark a knowledge answer wrong; logged and audited
``/answers``               supervisor   answers marked wrong; ``/answers/export``: the CSV of test
                                        cases for ``vtm kb evaluate``; logged and audited
``/dashboard``             reviewer     SVG charts
``/admin/users``           admin        user management
=========================  ===========  ==========================================================

Every response carries a strict Content-Security-Policy; every POST needs the CSRF token. The
client address is the TCP peer unless a configured proxy forwarded it (:mod:`vtm.review.proxies`);
every number and date a request carries is bounded (:mod:`vtm.review.params`): 422, never 500.

Usage::

    app = create_app(load_settings(), ReviewOptions(trusted_proxies=("10.0.0.5",)))
    uvicorn.Server(server_config(app, host="127.0.0.1", port=8700)).run()
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Form, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from vtm.audit import AuditLog
from vtm.config import Settings
from vtm.records.answer_marks import AnswerMarkStore
from vtm.records.store import SessionStore
from vtm.review.charts import bar_chart, grouped_bar_chart, line_chart
from vtm.review.context import (
    LANG_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    AuthRequired,
    Forbidden,
    ReviewContext,
    ReviewOptions,
    csrf_checked,
    require,
    staff,
    templates,
)
from vtm.review.dashboard import compute_dashboard
from vtm.review.i18n import LANGS, load_catalog
from vtm.review.knowledge_index import KnowledgeIndex, LazyKnowledgeIndex
from vtm.review.login_limits import LoginRateLimiter, username_key
from vtm.review.params import DashboardDays
from vtm.review.proxies import client_address, install_proxy_rule
from vtm.review.routes_annotations import router as annotations_router
from vtm.review.routes_knowledge import router as knowledge_router
from vtm.review.routes_sessions import router as sessions_router
from vtm.review.security import tokens_match
from vtm.review.users import Role, UserError, UserStore, WebSession

__all__ = ["ReviewOptions", "create_app"]

_log = logging.getLogger("vtm.review.login")

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def _safe_next(target: str | None) -> str:
    """Only a local path: ``/sessions?x=1`` yes, ``//evil.example`` or ``https://...`` no."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/sessions"
    parts = urlsplit(target)
    return "/sessions" if parts.scheme or parts.netloc else target


def create_app(
    settings: Settings,
    options: ReviewOptions | None = None,
    *,
    store: SessionStore | None = None,
    knowledge: KnowledgeIndex | None = None,
) -> FastAPI:
    """The app over the records database; ``knowledge`` (default: ``settings.content_root``'s
    ``knowledge/``, loaded on first use) is what a corrected answer's entry id is checked against."""
    opts = options or ReviewOptions()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    session_store = store or SessionStore.from_settings(settings)
    hasher_kw = {} if opts.password_hasher is None else {"hasher": opts.password_hasher}
    audit = AuditLog.from_settings(settings, engine=session_store.engine)
    ctx = ReviewContext(
        settings=settings,
        options=opts,
        store=session_store,
        users=UserStore(session_store.engine, **hasher_kw),  # type: ignore[arg-type]
        audit=audit,
        limiter=LoginRateLimiter(opts.login_limits),
        catalog=load_catalog(),
        templates=templates(),
        marks=AnswerMarkStore(audit),
        knowledge=LazyKnowledgeIndex.from_content_root(settings.content_root)
        if knowledge is None
        else LazyKnowledgeIndex.of(knowledge),
    )
    app = FastAPI(title="VTM review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.review = ctx
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    app.include_router(sessions_router)
    app.include_router(annotations_router)
    app.include_router(knowledge_router)
    install_proxy_rule(app, opts.trusted_proxies)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = _CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(AuthRequired)
    async def to_login(request: Request, exc: AuthRequired) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        web = getattr(request.state, "web", None)
        return ctx.render(request, "error.html", web, status=403, message=exc.reason)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # Which parameter, never the value: the page must not echo what the request carried.
        names = sorted({".".join(str(part) for part in error["loc"][1:]) or "request" for error in exc.errors()})
        web = getattr(request.state, "web", None)
        message = f"{ctx.catalog.text(ctx.lang(request), 'error.invalid_value')} {', '.join(names)}"
        return ctx.render(request, "error.html", web, status=422, message=message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        web = getattr(request.state, "web", None)
        response = ctx.render(request, "error.html", web, status=exc.status_code, message=str(exc.detail))
        return response

    def _cookie(response: Response, name: str, value: str, max_age: int | None = None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            httponly=True,
            samesite="strict",
            secure=opts.secure_cookies,
            path="/",
        )

    # Login -----------------------------------------------------------------------------------------
    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        token = secrets.token_urlsafe(32)
        response = ctx.render(request, "login.html", None, login_csrf=token, error=None)
        _cookie(response, LOGIN_CSRF_COOKIE, token, max_age=3600)
        return response

    @app.post("/login")
    def login(
        request: Request,
        username: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        client = client_address(request)
        if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token):
            raise Forbidden("missing or wrong CSRF token")
        if (throttle := ctx.limiter.check(username, client)) is not None:
            _log.warning(
                "event=review_login_throttled limited_by=%s username=%r address=%r retry_after_s=%d",
                throttle.limited_by,
                username_key(username),
                client,
                throttle.retry_after_s,
            )
            throttled = ctx.render(
                request,
                "login.html",
                None,
                status=429,
                login_csrf=csrf_token,
                error=ctx.catalog.text(ctx.lang(request), "login.too_many"),
            )
            throttled.headers["Retry-After"] = str(throttle.retry_after_s)
            return throttled
        user = ctx.users.authenticate(username, password)
        if user is None:
            ctx.limiter.failed(username, client)
            _log.info("event=review_login_failed username=%r address=%r", username_key(username), client)
            return ctx.render(
                request,
                "login.html",
                None,
                status=401,
                login_csrf=csrf_token,
                error=ctx.catalog.text(ctx.lang(request), "login.failed"),
            )
        ctx.limiter.succeeded(username, client)
        _log.info("event=review_login user=%s role=%s address=%r", user.username, user.role.value, client)
        token, _ = ctx.users.start_session(user)
        response = RedirectResponse("/sessions", status_code=303)
        _cookie(response, SESSION_COOKIE, token)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
        return response

    @app.post("/logout")
    def logout(web: Annotated[WebSession, Depends(csrf_checked())]) -> Response:
        ctx.users.end_session(web.token_hash)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/lang/{code}")
    def switch_language(code: str, next: str | None = None) -> Response:
        response = RedirectResponse(_safe_next(next), status_code=303)
        if code in LANGS:
            response.set_cookie(
                LANG_COOKIE,
                code,
                max_age=365 * 86400,
                samesite="strict",
                secure=opts.secure_cookies,
                path="/",
                httponly=True,
            )
        return response

    @app.get("/")
    def home(web: Annotated[WebSession, Depends(staff)]) -> Response:
        return RedirectResponse("/sessions", status_code=303)

    # Dashboard -------------------------------------------------------------------------------------
    @app.get("/dashboard", response_class=HTMLResponse)
    def dashboard(request: Request, web: Annotated[WebSession, Depends(staff)], days: DashboardDays = 14) -> Response:
        lang = ctx.lang(request)

        def t(key: str) -> str:
            return ctx.catalog.text(lang, key)

        today = datetime.now(UTC).astimezone(ctx.tz).date()
        data = compute_dashboard(ctx.store, today=today, tz=ctx.tz, days=days)
        labels = [d.strftime("%m-%d") for d in data.days]
        charts = [
            bar_chart(list(zip(labels, data.sessions_per_day, strict=True)), title=t("dash.per_day")),
            line_chart(
                labels,
                [(t("dash.completion"), data.completion_rate), (t("dash.handoff"), data.handoff_rate)],
                title=t("dash.rates"),
                unit="%",
                max_value=100,
            ),
            bar_chart(list(data.verdicts.items()), title=t("dash.verdicts")),
            grouped_bar_chart(
                list(data.latency),
                [
                    ("p50", [v[0] for v in data.latency.values()]),
                    ("p95", [v[1] for v in data.latency.values()]),
                ],
                title=t("dash.latency"),
                unit="ms",
            ),
        ]
        return ctx.render(request, "dashboard.html", web, data=data, charts=charts)

    # Users (admin) ---------------------------------------------------------------------------------
    @app.get("/admin/users", response_class=HTMLResponse)
    def users_page(request: Request, web: Annotated[WebSession, Depends(require(Role.ADMIN))]) -> Response:
        return ctx.render(request, "users.html", web, users=ctx.users.users(), error=None)

    @app.post("/admin/users", response_class=HTMLResponse)
    def create_user(
        request: Request,
        web: Annotated[WebSession, Depends(csrf_checked(Role.ADMIN))],
        username: Annotated[str, Form()],
        password: Annotated[str, Form()],
        role: Annotated[str, Form()],
    ) -> Response:
        try:
            ctx.users.create(username, password, Role(role))
        except (UserError, ValueError) as exc:
            return ctx.render(request, "users.html", web, status=400, users=ctx.users.users(), error=str(exc))
        return RedirectResponse("/admin/users", status_code=303)

    @app.post("/admin/users/{username}", response_class=HTMLResponse)
    def change_user(
        request: Request,
        username: str,
        web: Annotated[WebSession, Depends(csrf_checked(Role.ADMIN))],
        role: Annotated[str, Form()],
        active: Annotated[str, Form()] = "",
    ) -> Response:
        if username == web.user.username and (role != Role.ADMIN.value or not active):
            return ctx.render(
                request,
                "users.html",
                web,
                status=400,
                users=ctx.users.users(),
                error=ctx.catalog.text(ctx.lang(request), "users.not_self"),
            )
        try:
            ctx.users.set_role(username, Role(role))
            ctx.users.set_active(username, bool(active))
        except (UserError, ValueError) as exc:
            return ctx.render(request, "users.html", web, status=400, users=ctx.users.users(), error=str(exc))
        return RedirectResponse("/admin/users", status_code=303)

    return app

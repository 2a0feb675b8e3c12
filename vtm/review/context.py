"""What every review-app route needs: the stores, the options, templates, and the auth dependencies.

``staff`` resolves the login session from the HttpOnly cookie (no session: redirect to the
login page); ``require(role)`` adds the role check (403); ``csrf_checked`` adds the CSRF token
check every POST goes through (403 without the session's token in the form).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from vtm.audit import AuditLog
from vtm.config import Settings
from vtm.records.answer_marks import AnswerMarkStore
from vtm.records.store import SessionStore
from vtm.review.i18n import LANGS, Catalog
from vtm.review.knowledge_index import LazyKnowledgeIndex
from vtm.review.login_limits import LoginLimits, LoginRateLimiter
from vtm.review.security import tokens_match
from vtm.review.users import Role, UserStore, WebSession

__all__ = [
    "LANG_COOKIE",
    "SESSION_COOKIE",
    "AuthRequired",
    "Forbidden",
    "ReviewContext",
    "ReviewOptions",
    "csrf_checked",
    "require",
    "review_context",
    "staff",
]

SESSION_COOKIE = "vtm_review_session"
LOGIN_CSRF_COOKIE = "vtm_review_login_csrf"
LANG_COOKIE = "vtm_review_lang"
_TEMPLATES = Path(__file__).parent / "templates"


class AuthRequired(Exception):
    """No (live) login session: the app answers with a redirect to the login page."""


class Forbidden(Exception):
    """Logged in, but the role (or the CSRF token) does not allow this."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ReviewOptions:
    """Knobs of the review app, set by ``vtm review``'s options (``--secure-cookies`` behind HTTPS).

    ``trusted_proxies``: IP addresses or networks of the reverse proxies whose
    ``X-Forwarded-For`` names the client (:mod:`vtm.review.proxies`); empty, the default, believes
    no one. ``*`` and host names are refused: trust is given to addresses, never to everyone.
    """

    secure_cookies: bool = False
    timezone: str = "Asia/Shanghai"
    low_asr_threshold: float = 0.6
    per_page: int = 25
    login_limits: LoginLimits = field(default_factory=LoginLimits)  # 5 per username, 20 per address, 15 min
    min_reason_chars: int = 5
    password_hasher: PasswordHasher | None = None  # tests pass cheap parameters
    trusted_proxies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for entry in self.trusted_proxies:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"trusted proxy {entry!r} is not an IP address or network") from exc


@dataclass
class ReviewContext:
    settings: Settings
    options: ReviewOptions
    store: SessionStore
    users: UserStore
    audit: AuditLog
    limiter: LoginRateLimiter
    catalog: Catalog
    templates: Jinja2Templates
    marks: AnswerMarkStore  # knowledge answers marked wrong
    knowledge: LazyKnowledgeIndex  # the entries a correction may name

    @property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.options.timezone)

    def lang(self, request: Request) -> str:
        value = request.cookies.get(LANG_COOKIE, "zh")
        return value if value in LANGS else "zh"

    def render(
        self, request: Request, name: str, web: WebSession | None, status: int = 200, **values: Any
    ) -> HTMLResponse:
        lang = self.lang(request)
        tz = self.tz

        def local(moment: datetime | None) -> str:
            return "" if moment is None else moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")

        context = {
            "t": lambda key: self.catalog.text(lang, key),
            "lang": lang,
            "user": None if web is None else web.user,
            "csrf": "" if web is None else web.csrf_token,
            "local": local,
            "path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "Role": Role,
            **values,
        }
        response = self.templates.TemplateResponse(request, name, context, status_code=status)
        return response


def templates() -> Jinja2Templates:
    return Jinja2Templates(directory=str(_TEMPLATES))


def review_context(request: Request) -> ReviewContext:
    """The app's :class:`ReviewContext` (set by ``create_app``)."""
    ctx = request.app.state.review
    assert isinstance(ctx, ReviewContext)
    return ctx


def staff(request: Request) -> WebSession:
    web = review_context(request).users.resolve(request.cookies.get(SESSION_COOKIE))
    if web is None:
        raise AuthRequired()
    request.state.web = web
    return web


def require(role: Role) -> Callable[[Request], WebSession]:
    def dependency(request: Request) -> WebSession:
        web = staff(request)
        if not web.user.role.at_least(role):
            raise Forbidden(f"needs the {role.value} role")
        return web

    return dependency


def csrf_checked(role: Role = Role.REVIEWER) -> Callable[[Request], Awaitable[WebSession]]:
    """Logged in with ``role`` and the form carries this login session's CSRF token."""
    check_role = require(role)

    async def dependency(request: Request) -> WebSession:
        web = check_role(request)
        form = await request.form()
        given = form.get("csrf_token")
        if not tokens_match(web.csrf_token, given if isinstance(given, str) else None):
            raise Forbidden("missing or wrong CSRF token")
        return web

    return dependency

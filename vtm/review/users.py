"""Staff users and their login sessions, in the records database (own tables).

Passwords are argon2id hashes (``argon2-cffi``, its default parameters, rehashed on login when
those change). A login session is a random 256-bit token held by the browser in an HttpOnly
cookie; the database keeps only its SHA-256, so a copy of the database opens no session.
Sessions end after ``idle`` inactivity or ``absolute`` age, whichever comes first.

Roles are ordered: ``reviewer`` < ``supervisor`` < ``admin``; a higher role may do everything a
lower one may.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    ForeignKey,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from vtm.records.schema import UtcDateTime

__all__ = ["MIN_PASSWORD", "Role", "StaffUser", "UserError", "UserStore", "WebSession"]

MIN_PASSWORD: Final = 10
_USERNAME_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")

users_metadata = MetaData()

review_users = Table(
    "review_users",
    users_metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

review_web_sessions = Table(
    "review_web_sessions",
    users_metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(64), ForeignKey("review_users.username", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seen", UtcDateTime(), nullable=False),
)


class UserError(Exception):
    """A user cannot be created or changed as asked (the message says why)."""


class Role(StrEnum):
    REVIEWER = "reviewer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


@dataclass(frozen=True)
class StaffUser:
    username: str
    role: Role
    active: bool = True


@dataclass(frozen=True)
class WebSession:
    user: StaffUser
    csrf_token: str
    token_hash: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _utc_now() -> datetime:
    return datetime.now(UTC)


class UserStore:
    """Users, password checks and login sessions."""

    def __init__(
        self,
        engine: Engine,
        *,
        hasher: PasswordHasher | None = None,
        idle: timedelta = timedelta(minutes=30),
        absolute: timedelta = timedelta(hours=8),
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._engine = engine
        self._hasher = hasher or PasswordHasher()
        self._idle, self._absolute, self._clock = idle, absolute, clock
        users_metadata.create_all(engine)
        # A hash to verify against when the user does not exist, so timing does not tell.
        self._dummy_hash = self._hasher.hash(secrets.token_hex(16))

    @classmethod
    def from_url(cls, url: str) -> UserStore:
        return cls(create_engine(url))

    # Users ---------------------------------------------------------------------------------------
    def create(self, username: str, password: str, role: Role) -> StaffUser:
        name = username.strip().lower()
        if not name or len(name) > 64 or not set(name) <= _USERNAME_CHARS:
            raise UserError("a username is 1-64 characters of a-z, 0-9, '.', '_' or '-'")
        if len(password) < MIN_PASSWORD:
            raise UserError(f"a password needs at least {MIN_PASSWORD} characters")
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    insert(review_users).values(
                        username=name,
                        password_hash=self._hasher.hash(password),
                        role=Role(role).value,
                        active=True,
                        created_at=self._clock(),
                    )
                )
        except IntegrityError as exc:
            raise UserError(f"user {name!r} exists already") from exc
        return StaffUser(name, Role(role))

    def users(self) -> list[StaffUser]:
        with self._engine.connect() as conn:
            return [
                StaffUser(r.username, Role(r.role), bool(r.active))
                for r in conn.execute(select(review_users).order_by(review_users.c.username))
            ]

    def set_role(self, username: str, role: Role) -> None:
        self._update(username, role=Role(role).value)

    def set_active(self, username: str, active: bool) -> None:
        self._update(username, active=active)
        if not active:
            with self._engine.begin() as conn:
                conn.execute(delete(review_web_sessions).where(review_web_sessions.c.username == username))

    def _update(self, username: str, **values: object) -> None:
        with self._engine.begin() as conn:
            if (
                conn.execute(update(review_users).where(review_users.c.username == username).values(**values)).rowcount
                == 0
            ):
                raise UserError(f"no user {username!r}")

    def authenticate(self, username: str, password: str) -> StaffUser | None:
        """The user if the password matches and the account is active; None otherwise."""
        name = username.strip().lower()
        with self._engine.connect() as conn:
            row = conn.execute(select(review_users).where(review_users.c.username == name)).first()
        try:
            self._hasher.verify(row.password_hash if row else self._dummy_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or not row.active:
            return None
        if self._hasher.check_needs_rehash(row.password_hash):
            self._update(name, password_hash=self._hasher.hash(password))
        return StaffUser(row.username, Role(row.role))

    # Login sessions --------------------------------------------------------------------------------
    def start_session(self, user: StaffUser) -> tuple[str, WebSession]:
        """A new login session: the cookie token (256 random bits) and the session it opens."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = self._clock()
        with self._engine.begin() as conn:
            conn.execute(
                insert(review_web_sessions).values(
                    token_hash=_digest(token),
                    username=user.username,
                    csrf_token=csrf,
                    created_at=now,
                    last_seen=now,
                )
            )
        return token, WebSession(user, csrf, _digest(token))

    def resolve(self, token: str | None) -> WebSession | None:
        """The live session for a cookie token, touching its idle timer; None if unknown or expired."""
        if not token or len(token) > 200:
            return None
        digest = _digest(token)
        now = self._clock()
        with self._engine.begin() as conn:
            row = conn.execute(
                select(review_web_sessions, review_users.c.role, review_users.c.active)
                .join(review_users, review_users.c.username == review_web_sessions.c.username)
                .where(review_web_sessions.c.token_hash == digest)
            ).first()
            if row is None:
                return None
            if not row.active or now - row.last_seen > self._idle or now - row.created_at > self._absolute:
                conn.execute(delete(review_web_sessions).where(review_web_sessions.c.token_hash == digest))
                return None
            conn.execute(
                update(review_web_sessions).where(review_web_sessions.c.token_hash == digest).values(last_seen=now)
            )
        return WebSession(StaffUser(row.username, Role(row.role)), row.csrf_token, digest)

    def end_session(self, token_hash: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(review_web_sessions).where(review_web_sessions.c.token_hash == token_hash))

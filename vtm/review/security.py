"""Login rate limiting and CSRF token checks for the review app.

* :class:`LoginRateLimiter`: at most ``max_failures`` failed logins per (username, client IP) in
  a sliding ``window``; further attempts get HTTP 429 until the window has passed. Kept in
  memory: one review app process per site; a restart clears it (an attacker gains nothing he
  could not get by waiting the window out).
* CSRF: every form carries the login session's token (or, for the login form itself, a token
  also set as a cookie: double submit); :func:`tokens_match` compares in constant time.
"""

from __future__ import annotations

import hmac
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["LoginRateLimiter", "tokens_match"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LoginRateLimiter:
    """Sliding-window counter of failed logins per (username, client)."""

    def __init__(
        self,
        max_failures: int = 5,
        window: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._max, self._window, self._clock = max_failures, window, clock
        self._failures: dict[tuple[str, str], deque[datetime]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str]) -> deque[datetime]:
        cutoff = self._clock() - self._window
        stamps = self._failures[key]
        while stamps and stamps[0] <= cutoff:
            stamps.popleft()
        return stamps

    def blocked(self, username: str, client: str) -> bool:
        with self._lock:
            return len(self._recent((username.strip().lower(), client))) >= self._max

    def failed(self, username: str, client: str) -> None:
        with self._lock:
            self._recent((username.strip().lower(), client)).append(self._clock())

    def succeeded(self, username: str, client: str) -> None:
        with self._lock:
            self._failures.pop((username.strip().lower(), client), None)


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; a missing token never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))

"""Login rate limiting: failed logins counted per username *and* per client address.

Two sliding windows share one record of failures:

* per username (default 5 failures in 15 minutes): guessing one account's password from many
  addresses is throttled;
* per address (default 20 failures in 15 minutes): one address trying many usernames is
  throttled.

Either limit reached: the attempt is refused (HTTP 429) without checking the password, and is
not counted again, so each key holds at most its limit of failures. A successful login removes
only the failures of that username *from that address*: it never resets the counter that another
address built up against the same account (an attacker cannot wait for the real user to log in).

The client address is the one :mod:`vtm.review.proxies` settled on (a forwarded address only
from a configured proxy). IPv6 clients are counted per /64 network, since one host usually owns
a whole /64. Counters live in memory: one review app process per site; a restart clears them (an
attacker gains nothing he could not get by waiting out the window).

Usage::

    limiter = LoginRateLimiter(LoginLimits(per_username=5, per_address=20, window=timedelta(minutes=15)))
    if (throttle := limiter.check("rita", "10.1.2.3")) is not None:
        ...  # 429, Retry-After: throttle.retry_after_s
"""

from __future__ import annotations

import ipaddress
import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

__all__ = ["LimitedBy", "LoginLimits", "LoginRateLimiter", "Throttle", "address_key", "username_key"]

_MAX_KEY: Final = 64  # a username is at most 64 characters (users.py); longer input cannot match one


def _utc_now() -> datetime:
    return datetime.now(UTC)


def username_key(username: str) -> str:
    """The counter key of a typed username: as the user store normalises it, bounded in size."""
    return username.strip().lower()[:_MAX_KEY]


def address_key(address: str) -> str:
    """The counter key of a client address: an IPv4 address, an IPv6 /64, or the text itself."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:_MAX_KEY]  # not an IP (a test client, a unix socket): counted as given
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class LimitedBy(StrEnum):
    USERNAME = "username"
    ADDRESS = "address"


@dataclass(frozen=True)
class LoginLimits:
    """How many failed logins are allowed in ``window``, per username and per client address."""

    per_username: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if self.per_username < 1 or self.per_address < 1 or self.window <= timedelta(0):
            raise ValueError("login limits must be positive")


@dataclass(frozen=True)
class Throttle:
    """Why an attempt is refused, and in how many seconds the oldest counted failure expires."""

    limited_by: LimitedBy
    retry_after_s: int


@dataclass(frozen=True)
class _Failure:
    at: datetime
    username: str
    address: str


class LoginRateLimiter:
    """Sliding-window counters of failed logins per username and per address (thread-safe)."""

    def __init__(self, limits: LoginLimits | None = None, clock: Callable[[], datetime] = _utc_now) -> None:
        self._limits = limits or LoginLimits()
        self._clock = clock
        self._by_username: dict[str, deque[_Failure]] = {}
        self._by_address: dict[str, deque[_Failure]] = {}
        self._lock = threading.Lock()
        self._last_sweep = clock()

    @property
    def limits(self) -> LoginLimits:
        return self._limits

    def check(self, username: str, address: str) -> Throttle | None:
        """None if an attempt may go ahead; otherwise which limit it hit."""
        user, addr = username_key(username), address_key(address)
        with self._lock:
            now = self._clock()
            self._sweep(now)
            for limited_by, index, key, limit in (
                (LimitedBy.USERNAME, self._by_username, user, self._limits.per_username),
                (LimitedBy.ADDRESS, self._by_address, addr, self._limits.per_address),
            ):
                recent = self._recent(index, key, now)
                if len(recent) >= limit:
                    expires = recent[0].at + self._limits.window
                    return Throttle(limited_by, max(1, math.ceil((expires - now).total_seconds())))
        return None

    def failed(self, username: str, address: str) -> None:
        """Count a failed login against both the username and the address."""
        with self._lock:
            failure = _Failure(self._clock(), username_key(username), address_key(address))
            self._by_username.setdefault(failure.username, deque()).append(failure)
            self._by_address.setdefault(failure.address, deque()).append(failure)

    def succeeded(self, username: str, address: str) -> None:
        """Forget this username's failures from this address (and only those)."""
        user, addr = username_key(username), address_key(address)
        with self._lock:
            for index, key in ((self._by_username, user), (self._by_address, addr)):
                kept = deque(f for f in index.get(key, ()) if not (f.username == user and f.address == addr))
                if kept:
                    index[key] = kept
                else:
                    index.pop(key, None)

    def tracked_keys(self) -> int:
        """How many usernames and addresses have failures on record (memory use, for monitoring)."""
        with self._lock:
            return len(self._by_username) + len(self._by_address)

    def _recent(self, index: dict[str, deque[_Failure]], key: str, now: datetime) -> deque[_Failure]:
        stamps = index.get(key)
        if stamps is None:
            return deque()
        cutoff = now - self._limits.window
        while stamps and stamps[0].at <= cutoff:
            stamps.popleft()
        if not stamps:
            del index[key]
        return stamps

    def _sweep(self, now: datetime) -> None:
        """Drop expired keys once per window, so many one-off usernames cannot pile up in memory."""
        if now - self._last_sweep < self._limits.window:
            return
        self._last_sweep = now
        for index in (self._by_username, self._by_address):
            for key in list(index):
                self._recent(index, key, now)

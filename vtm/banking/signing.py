"""Request signing for the core-banking HTTP API: one HMAC-SHA256 per request, per kiosk key.

A kiosk signs every request with its own secret key; the server looks the key up by kiosk id,
recomputes the signature over exactly what it received and compares in constant time. The
signature covers the method, the path with its query, a timestamp, a single-use nonce and the
SHA-256 of the body, so a request can be neither altered nor replayed::

    VTM1-HMAC-SHA256
    <kiosk id>
    <METHOD>
    <raw path>[?<raw query>]
    <timestamp: unix seconds>
    <nonce>
    <sha256 hex of the body>

joined by ``\\n``; the headers carrying them are :data:`HEADER_KIOSK`, :data:`HEADER_TIMESTAMP`,
:data:`HEADER_NONCE` and :data:`HEADER_SIGNATURE` (lowercase hex). See ``docs/security.md``
("Core banking API: credentials") for why this and not mutual TLS.

Usage::

    key = KioskKey("VTM-0001", load_key(settings.keys_dir, "bank_api"))
    headers = signed_headers(key, "POST", b"/v1/transfers", body)

This module is pure (no HTTP library): the httpx client and the ASGI server both build on it.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import re
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "ALGORITHM",
    "HEADER_KIOSK",
    "HEADER_NONCE",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "KIOSK_ID_PATTERN",
    "NONCE_PATTERN",
    "SIGNATURE_PATTERN",
    "TIMESTAMP_PATTERN",
    "KioskKey",
    "KioskKeyTable",
    "NonceCache",
    "NonceVerdict",
    "canonical_request",
    "sign",
    "signature_matches",
    "signed_headers",
]

ALGORITHM = "VTM1-HMAC-SHA256"
HEADER_KIOSK = "x-vtm-kiosk"
HEADER_TIMESTAMP = "x-vtm-timestamp"
HEADER_NONCE = "x-vtm-nonce"
HEADER_SIGNATURE = "x-vtm-signature"

KIOSK_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
TIMESTAMP_PATTERN = re.compile(r"^[0-9]{1,12}$")
SIGNATURE_PATTERN = re.compile(r"^[0-9a-f]{64}$")
MIN_KEY_BYTES = 16


@dataclass(frozen=True)
class KioskKey:
    """One kiosk's identity and signing key. The key never appears in ``repr`` (it would reach logs)."""

    kiosk_id: str
    key: bytes = field(repr=False)
    scopes: frozenset[str] | None = None
    """Route groups (the API's OpenAPI tags) this kiosk may call; ``None``: all of them."""

    def __post_init__(self) -> None:
        if not KIOSK_ID_PATTERN.match(self.kiosk_id):
            raise ValueError(f"kiosk id {self.kiosk_id!r} must match {KIOSK_ID_PATTERN.pattern}")
        if len(self.key) < MIN_KEY_BYTES:
            raise ValueError(f"the key of kiosk {self.kiosk_id} is shorter than {MIN_KEY_BYTES} bytes")

    def allows(self, scope: str | None) -> bool:
        return scope is None or self.scopes is None or scope in self.scopes


class KioskKeyTable:
    """The kiosks a server accepts, by id. Immutable after construction."""

    def __init__(self, keys: Iterable[KioskKey]) -> None:
        table: dict[str, KioskKey] = {}
        for entry in keys:
            if entry.kiosk_id in table:
                raise ValueError(f"kiosk {entry.kiosk_id} is listed twice")
            table[entry.kiosk_id] = entry
        if not table:
            raise ValueError("a core-bank API needs at least one kiosk key")
        self._table: Mapping[str, KioskKey] = table

    def get(self, kiosk_id: str) -> KioskKey | None:
        return self._table.get(kiosk_id)

    @property
    def kiosk_ids(self) -> frozenset[str]:
        return frozenset(self._table)

    def __repr__(self) -> str:
        return f"KioskKeyTable(kiosks={sorted(self._table)})"


def canonical_request(kiosk_id: str, method: str, target: bytes, timestamp: str, nonce: str, body: bytes) -> bytes:
    """The exact bytes that are signed (see the module docstring). ``target`` is the raw path and query."""
    digest = hashlib.sha256(body).hexdigest()
    parts = (ALGORITHM, kiosk_id, method.upper(), target.decode("latin-1"), timestamp, nonce, digest)
    return "\n".join(parts).encode("latin-1")


def sign(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signature_matches(key: bytes, message: bytes, signature: str) -> bool:
    """Constant-time comparison of ``signature`` with the one ``key`` gives ``message``."""
    return hmac.compare_digest(sign(key, message).encode("ascii"), signature.encode("ascii"))


def signed_headers(credential: KioskKey, method: str, target: bytes, body: bytes,
                   *, now: float | None = None, nonce: str | None = None) -> dict[str, str]:
    """The four headers that authenticate one request (a fresh nonce unless one is given)."""
    timestamp = str(int(time.time() if now is None else now))
    nonce = nonce or secrets.token_urlsafe(18)
    message = canonical_request(credential.kiosk_id, method, target, timestamp, nonce, body)
    return {
        HEADER_KIOSK: credential.kiosk_id,
        HEADER_TIMESTAMP: timestamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: sign(credential.key, message),
    }


class NonceVerdict(StrEnum):
    FRESH = "fresh"
    REPLAYED = "replayed"
    TOO_OLD = "too_old"


class NonceCache:
    """Nonces seen within the timestamp window, per kiosk; bounded in memory.

    A nonce only has to be remembered while its timestamp is still acceptable: once
    ``timestamp < now - window_s`` the window check refuses the request anyway, so the entry
    expires. If ``capacity`` entries are live (a flood of *validly signed* requests: only those
    reach the cache), the oldest entry is evicted and its timestamp becomes a floor: every request
    stamped at or before the floor is refused from then on, so an evicted nonce can never be
    replayed. Memory stays bounded and replay protection never weakens; under such a flood some
    legitimate requests with older stamps are refused (401) and their clients retry with new ones.

    One cache per server process: ``vtm bank serve`` runs a single process. Several processes
    behind one address would need a shared store (see ``docs/security.md``).
    """

    def __init__(self, window_s: int, capacity: int = 100_000) -> None:
        if window_s <= 0 or capacity <= 0:
            raise ValueError("window_s and capacity must be positive")
        self._window_s = window_s
        self._capacity = capacity
        self._seen: set[tuple[str, str]] = set()
        self._by_age: list[tuple[int, str, str]] = []
        self._floor = -1
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def check_and_remember(self, kiosk_id: str, nonce: str, timestamp: int, now: float) -> NonceVerdict:
        with self._lock:
            oldest_live = now - self._window_s
            while self._by_age and self._by_age[0][0] < oldest_live:
                _, kiosk, old = heapq.heappop(self._by_age)
                self._seen.discard((kiosk, old))
            if timestamp <= self._floor:
                return NonceVerdict.TOO_OLD
            if (kiosk_id, nonce) in self._seen:
                return NonceVerdict.REPLAYED
            if len(self._seen) >= self._capacity:
                evicted_at, kiosk, old = heapq.heappop(self._by_age)
                self._seen.discard((kiosk, old))
                self._floor = max(self._floor, evicted_at)
                if timestamp <= self._floor:
                    return NonceVerdict.TOO_OLD
            self._seen.add((kiosk_id, nonce))
            heapq.heappush(self._by_age, (timestamp, kiosk_id, nonce))
            return NonceVerdict.FRESH

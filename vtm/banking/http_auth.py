"""The core-bank API's gate: an ASGI middleware that admits only signed requests from known kiosks.

Every HTTP request except the paths in ``open_paths`` (the liveness probe) must carry the four
headers of :mod:`vtm.banking.signing`. The checks run in this order, cheapest first, and the body
is only read (up to ``max_body_bytes``) once the headers are well-formed and fresh:

=====================================  ======  ===========================
what is wrong                          status  ``context.reason``
=====================================  ======  ===========================
a header missing, repeated, malformed  401     ``missing_credential`` /
                                               ``malformed_credential``
timestamp outside ``±window_s``        401     ``stale_timestamp``
body larger than ``max_body_bytes``    413     (``invalid_request``)
unknown kiosk or wrong signature       401     ``bad_signature``
nonce already used (replay)            401     ``replayed_nonce``
valid kiosk, route outside its scopes  403     ``route_not_allowed``
=====================================  ======  ===========================

Refusals are error envelopes (:class:`~vtm.banking.wire.ErrorBody`) with codes
``credential_rejected`` and ``forbidden``, and each one is audited: a structured log line
``event=bank_api_auth_denied`` naming the route *template* (never the concrete path, which may
hold an account number), and the optional ``audit`` callback with an :class:`AuthDenied`.
Admitted requests carry the kiosk id in ``request.state.kiosk_id``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vtm.banking.errors import CredentialRejected, Forbidden, InvalidRequest
from vtm.banking.signing import (
    HEADER_KIOSK,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    KIOSK_ID_PATTERN,
    NONCE_PATTERN,
    SIGNATURE_PATTERN,
    TIMESTAMP_PATTERN,
    KioskKeyTable,
    NonceCache,
    NonceVerdict,
    canonical_request,
    signature_matches,
)

__all__ = ["DEFAULT_MAX_BODY_BYTES", "DEFAULT_WINDOW_S", "AuthDenied", "SignedRequests"]

log = logging.getLogger("vtm.banking.http_auth")

DEFAULT_WINDOW_S = 120
"""Accepted clock difference between kiosk and core, each way. Kiosks keep time by NTP; two minutes
covers drift and queueing while keeping the replay cache small."""

DEFAULT_MAX_BODY_BYTES = 16 * 1024
"""The largest body the API takes; its largest real body (a transfer) is well under 1 KiB."""

_NO_KEY = b"\0" * 32
_REQUIRED = (HEADER_KIOSK, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE)


@dataclass(frozen=True)
class AuthDenied:
    """One refused request, for the audit trail. ``kiosk_id`` is None when the header was unusable."""

    status: int
    reason: str
    kiosk_id: str | None
    method: str
    route: str
    client: str | None


class _Refusal(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


class SignedRequests:
    """ASGI middleware: verify the kiosk signature of every request before the app sees it.

    ``routes`` are the app's routes, used to name a route's template in logs and to find its
    scope (its first OpenAPI tag) for the per-kiosk allow list.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        kiosks: KioskKeyTable,
        routes: Collection[BaseRoute],
        open_paths: Collection[str] = ("/health",),
        window_s: int = DEFAULT_WINDOW_S,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        nonces: NonceCache | None = None,
        audit: Callable[[AuthDenied], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self._kiosks = kiosks
        self._routes = routes
        self._open_paths = frozenset(open_paths)
        self._window_s = window_s
        self._max_body = max_body_bytes
        self._nonces = nonces or NonceCache(window_s)
        self._audit = audit
        self._clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._open_paths:
            await self.app(scope, receive, send)
            return
        kiosk_id: str | None = None
        try:
            kiosk_id, timestamp, nonce, signature = self._headers(scope)
            body = await self._body(scope, receive)
            self._verify(scope, kiosk_id, timestamp, nonce, signature, body)
        except _Refusal as refusal:
            await self._refuse(scope, send, refusal, kiosk_id)
            return
        scope.setdefault("state", {})["kiosk_id"] = kiosk_id
        await self.app(scope, _replay(body, receive), send)

    # Checks ---------------------------------------------------------------------------------
    def _headers(self, scope: Scope) -> tuple[str, int, str, str]:
        found: dict[str, list[bytes]] = {}
        for name, value in scope["headers"]:
            key = name.decode("latin-1").lower()
            if key in _REQUIRED:
                found.setdefault(key, []).append(value)
        if any(name not in found for name in _REQUIRED):
            raise _Refusal(401, "missing_credential", "this API needs a signed request (X-VTM-* headers)")
        if any(len(values) != 1 for values in found.values()):
            raise _Refusal(401, "malformed_credential", "each X-VTM-* header must appear once")
        kiosk, stamp, nonce, signature = (found[name][0].decode("latin-1") for name in _REQUIRED)
        checks = ((KIOSK_ID_PATTERN, kiosk), (TIMESTAMP_PATTERN, stamp), (NONCE_PATTERN, nonce),
                  (SIGNATURE_PATTERN, signature))
        if not all(pattern.match(value) for pattern, value in checks):
            raise _Refusal(401, "malformed_credential", "an X-VTM-* header is malformed")
        timestamp = int(stamp)
        if abs(self._clock() - timestamp) > self._window_s:
            raise _Refusal(401, "stale_timestamp",
                           f"the request's timestamp is more than {self._window_s} s from the core's clock")
        return kiosk, timestamp, nonce, signature

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self._max_body):
            raise _Refusal(413, "body_too_large", f"a request body is at most {self._max_body} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: nothing to answer
                raise _Refusal(400, "disconnected", "the client disconnected")
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self._max_body:
                raise _Refusal(413, "body_too_large", f"a request body is at most {self._max_body} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _verify(self, scope: Scope, kiosk_id: str, timestamp: int, nonce: str, signature: str,
                body: bytes) -> None:
        credential = self._kiosks.get(kiosk_id)
        message = canonical_request(kiosk_id, scope["method"], _target(scope), str(timestamp), nonce, body)
        # An unknown kiosk costs the same HMAC as a known one: the answer's timing tells nothing apart.
        key = credential.key if credential is not None else _NO_KEY
        if not signature_matches(key, message, signature) or credential is None:
            raise _Refusal(401, "bad_signature", "unknown kiosk or wrong signature")
        verdict = self._nonces.check_and_remember(kiosk_id, nonce, timestamp, self._clock())
        if verdict is NonceVerdict.REPLAYED:
            raise _Refusal(401, "replayed_nonce", "this nonce was already used")
        if verdict is NonceVerdict.TOO_OLD:
            raise _Refusal(401, "stale_timestamp", "the request's timestamp is too old; sign it again")
        route_scope = self._route(scope)[1]
        if not credential.allows(route_scope):
            raise _Refusal(403, "route_not_allowed", f"kiosk {kiosk_id} may not call {route_scope} routes")

    # Answers --------------------------------------------------------------------------------
    def _route(self, scope: Scope) -> tuple[str, str | None]:
        """The matching route's template and scope (first tag); ``<unmatched>`` when none matches."""
        for route in self._routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                tags = getattr(route, "tags", None) or [None]
                return str(getattr(route, "path", "<route>")), tags[0]
        return "<unmatched>", None

    async def _refuse(self, scope: Scope, send: Send, refusal: _Refusal, kiosk_id: str | None) -> None:
        if refusal.reason == "disconnected":
            return
        denied = AuthDenied(
            status=refusal.status,
            reason=refusal.reason,
            kiosk_id=kiosk_id,
            method=str(scope["method"])[:16],
            route=self._route(scope)[0],
            client=scope["client"][0] if scope.get("client") else None,
        )
        log.warning("event=bank_api_auth_denied status=%d reason=%s kiosk=%s method=%s route=%s client=%s",
                    denied.status, denied.reason, denied.kiosk_id or "-", denied.method, denied.route,
                    denied.client or "-")
        if self._audit is not None:
            self._audit(denied)
        error = {401: CredentialRejected, 403: Forbidden}.get(refusal.status, InvalidRequest)
        body = json.dumps({"code": error.code, "message": refusal.message, "retry_safe": error.retry_safe,
                           "context": {"reason": refusal.reason}}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if refusal.status == 401:
            headers.append((b"www-authenticate", b"VTM1-HMAC-SHA256"))
        await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _target(scope: Scope) -> bytes:
    """The path and query as the client sent them (what the client signed)."""
    raw: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    query: bytes = scope.get("query_string", b"")
    return raw + b"?" + query if query else raw


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body to the app, then defers to the real one."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay

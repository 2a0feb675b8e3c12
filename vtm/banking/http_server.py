"""The core bank's HTTP API (FastAPI): one endpoint per :class:`~vtm.banking.port.CoreBanking` operation.

``create_app(bank, kiosks=...)`` wraps *any* CoreBanking implementation (in practice the sandbox
bank); :class:`vtm.banking.http_client.HttpCoreBanking` is its client, and the same contract tests
run against both. OpenAPI is served at ``/openapi.json`` (signed like every route; no ``/docs``
page, which would load its scripts from a CDN).

Credentials: every request except ``GET /health`` must be signed by a kiosk whose key is in
``kiosks`` (:mod:`vtm.banking.signing`, checked by :class:`vtm.banking.http_auth.SignedRequests`):
401 ``credential_rejected`` when missing, stale, replayed or wrong, 403 ``forbidden`` when the kiosk
may not call that route group, 413 when the body is larger than ``max_body_bytes``.

Endpoints (all under ``/v1``; bodies are the pydantic values of :mod:`vtm.banking.models` and
:mod:`vtm.banking.wire`)::

    POST /v1/auth/card                           CardAuthBody      -> AuthResult
    POST /v1/identity/verify                     IdentityBody      -> IdentityResult
    POST /v1/cards/status                        CardBody          -> CardInfo
    POST /v1/cards/loss-reports                  LossReportBody    -> LossReport     (keyed)
    POST /v1/cards/freeze                        KeyedCardBody     -> CardInfo       (keyed)
    POST /v1/cards/replacements                  KeyedCardBody     -> Replacement    (keyed)
    POST /v1/cards/pin-changes                   PinChangeBody     -> PinChange      (keyed)
    GET  /v1/customers/{customer_id}/cards                         -> [CardInfo]
    GET  /v1/customers/{customer_id}/accounts                      -> [Account]
    GET  /v1/customers/{customer_id}/payees                        -> [SavedPayee]
    GET  /v1/customers/{customer_id}/daily-usage?channel=&day=     -> DailyUsage
    GET  /v1/customers/{customer_id}/pending-transfers             -> [TransferResult]
    GET  /v1/customers/{customer_id}                               -> Customer
    GET  /v1/accounts/{account_number}/balance                     -> Balance
    GET  /v1/accounts/{account_number}/history?start=&end=         -> [Posting]
    GET  /v1/accounts/{account_number}/statement?start=&end=       -> StatementWire (PDF base64)
    GET  /v1/accounts/{account_number}/statement.pdf?start=&end=   -> application/pdf
    POST /v1/payees/validate                     PayeeBody         -> PayeeCheck
    POST /v1/transfers                           TransferBody      -> TransferResult (keyed)
    GET  /v1/transfers/by-key/{idempotency_key}                    -> TransferStatusReply
    POST /v1/transfers/{reference}/revoke        RevokeBody        -> RevokeResult   (keyed)
    GET  /health                                                   (unsigned: liveness only)

Privacy: PINs travel only in a POST body (as ``SecretStr``); card and ID numbers travel only in
bodies, never in URLs, so they cannot reach an access log. The request log written here names the
route *template* (``/v1/accounts/{account_number}/balance``), never the concrete path.

Errors are :class:`~vtm.banking.wire.ErrorBody` envelopes ``{"code", "message", "retry_safe",
"context"}`` with an HTTP status chosen by error class (404, 422, 401, 423, 409, 503...). A request
that fails validation gets ``invalid_request`` without echoing its input (it may contain a PIN).
Bad input is always a 4xx: path segments, days (:data:`~vtm.banking.wire.WireDay`), money
(:data:`~vtm.banking.wire.WireMoney`) and strings are bounded before any handler runs.
An unexpected failure is a 500 ``core_error`` with ``retry_safe: false``: the server cannot
promise nothing was applied, so a client resolves it by idempotency key.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from vtm.banking import errors
from vtm.banking.http_auth import DEFAULT_MAX_BODY_BYTES, DEFAULT_WINDOW_S, AuthDenied, SignedRequests
from vtm.banking.models import (
    Account,
    AuthResult,
    Balance,
    CardInfo,
    Channel,
    Customer,
    DailyUsage,
    IdentityResult,
    LossReport,
    PayeeCheck,
    PinChange,
    Posting,
    Replacement,
    RevokeResult,
    SavedPayee,
    TransferResult,
)
from vtm.banking.port import CoreBanking
from vtm.banking.signing import KioskKeyTable, NonceCache
from vtm.banking.wire import (
    API_PREFIX,
    CardAuthBody,
    CardBody,
    ErrorBody,
    IdentityBody,
    KeyedCardBody,
    LossReportBody,
    PayeeBody,
    PinChangeBody,
    RevokeBody,
    StatementWire,
    TransferBody,
    TransferStatusReply,
    WireDay,
    error_body,
)

__all__ = ["STATUS_BY_ERROR", "create_app"]

log = logging.getLogger("vtm.banking.http")

STATUS_BY_ERROR: dict[type[errors.CoreBankingError], int] = {
    errors.NotFound: 404,
    errors.InvalidRequest: 422,
    errors.WeakPin: 422,
    errors.AuthenticationFailed: 401,
    errors.CardBlocked: 423,
    errors.InsufficientFunds: 409,
    errors.LimitExceeded: 409,
    errors.PayeeMismatch: 409,
    errors.NotRevocable: 409,
    errors.IdempotencyConflict: 409,
    errors.Unavailable: 503,
    errors.OutcomeUnknown: 504,
    errors.CredentialRejected: 401,
    errors.Forbidden: 403,
}
"""HTTP status per error class; anything else (the root class) is a 500."""

_ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody} for status in sorted({*STATUS_BY_ERROR.values(), 500})
}

DayQuery = Annotated[WireDay, Query(description="ISO date (YYYY-MM-DD), inclusive")]
CustomerId = Annotated[str, Path(min_length=1, max_length=40)]
AccountNumber = Annotated[str, Path(min_length=1, max_length=40)]
KeyPath = Annotated[str, Path(min_length=8, max_length=80)]
ReferencePath = Annotated[str, Path(min_length=1, max_length=80)]


def _status_of(error: errors.CoreBankingError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def _envelope(body: ErrorBody, status: int) -> JSONResponse:
    return JSONResponse(body.model_dump(mode="json"), status_code=status)


def _router(bank: CoreBanking) -> APIRouter:
    r = APIRouter(prefix=API_PREFIX, responses=_ERROR_RESPONSES)

    # Identity -------------------------------------------------------------------------------
    @r.post("/auth/card", tags=["identity"])
    def authenticate_card(body: CardAuthBody) -> AuthResult:
        """Check card + PIN. 401 ``authentication_failed`` carries ``attempts_left``; 423 when locked."""
        return bank.authenticate_card(body.card_number, body.pin.get_secret_value())

    @r.post("/identity/verify", tags=["identity"])
    def verify_identity(body: IdentityBody) -> IdentityResult:
        return bank.verify_identity(body.id_number, body.face_score)

    @r.get("/customers/{customer_id}", tags=["identity"])
    def customer(customer_id: CustomerId) -> Customer:
        """The customer's record on file (for the email a statement is sent to)."""
        return bank.customer(customer_id)

    # Cards ----------------------------------------------------------------------------------
    @r.post("/cards/status", tags=["cards"])
    def card_status(body: CardBody) -> CardInfo:
        """A card's status (a POST so that the card number stays out of the URL)."""
        return bank.card_status(body.card_number)

    @r.post("/cards/loss-reports", tags=["cards"])
    def report_loss(body: LossReportBody) -> LossReport:
        """Temporary or formal loss report; idempotent by key."""
        return bank.report_loss(body.card_number, body.kind, body.idempotency_key)

    @r.post("/cards/freeze", tags=["cards"])
    def freeze_card(body: KeyedCardBody) -> CardInfo:
        return bank.freeze_card(body.card_number, body.idempotency_key)

    @r.post("/cards/replacements", tags=["cards"])
    def order_replacement(body: KeyedCardBody) -> Replacement:
        return bank.order_replacement(body.card_number, body.idempotency_key)

    @r.post("/cards/pin-changes", tags=["cards"])
    def change_pin(body: PinChangeBody) -> PinChange:
        """Replace the PIN; idempotent by key. 401 ``authentication_failed`` (wrong current PIN, with
        ``attempts_left``), 423 when locked, 422 ``weak_pin`` naming the weaknesses (never the PIN)."""
        return bank.change_pin(body.card_number, body.current_pin.get_secret_value(),
                               body.new_pin.get_secret_value(), body.idempotency_key)

    @r.get("/customers/{customer_id}/cards", tags=["cards"])
    def cards_of_customer(customer_id: CustomerId) -> list[CardInfo]:
        return bank.cards_of_customer(customer_id)

    # Accounts -------------------------------------------------------------------------------
    @r.get("/customers/{customer_id}/accounts", tags=["accounts"])
    def list_accounts(customer_id: CustomerId) -> list[Account]:
        return bank.list_accounts(customer_id)

    @r.get("/customers/{customer_id}/payees", tags=["accounts"])
    def saved_payees(customer_id: CustomerId) -> list[SavedPayee]:
        return bank.saved_payees(customer_id)

    @r.get("/accounts/{account_number}/balance", tags=["accounts"])
    def balance(account_number: AccountNumber) -> Balance:
        return bank.balance(account_number)

    @r.post("/payees/validate", tags=["accounts"])
    def validate_payee(body: PayeeBody) -> PayeeCheck:
        return bank.validate_payee(body.account_number, body.name, body.bank)

    # Money ----------------------------------------------------------------------------------
    @r.post("/transfers", tags=["transfers"])
    def transfer(body: TransferBody) -> TransferResult:
        """Post or accept a transfer. Repeating the same key returns the first result unchanged.

        ``amount`` is a decimal string of ASCII digits (``"300.00"``): never a JSON number."""
        return bank.transfer(body.to_request())

    @r.get("/transfers/by-key/{idempotency_key}", tags=["transfers"])
    def transfer_status(idempotency_key: KeyPath) -> TransferStatusReply:
        """What the core knows under this key; ``found: false`` only if it never saw the key."""
        result = bank.transfer_status(idempotency_key)
        return TransferStatusReply(idempotency_key=idempotency_key, found=result is not None, result=result)

    @r.get("/customers/{customer_id}/pending-transfers", tags=["transfers"])
    def pending_transfers(customer_id: CustomerId) -> list[TransferResult]:
        """Delayed transfers that have not executed yet (still revocable), oldest first."""
        return bank.pending_transfers(customer_id)

    @r.post("/transfers/{reference}/revoke", tags=["transfers"])
    def revoke_transfer(reference: ReferencePath, body: RevokeBody) -> RevokeResult:
        return bank.revoke_transfer(reference, body.idempotency_key)

    @r.get("/customers/{customer_id}/daily-usage", tags=["transfers"])
    def daily_usage(customer_id: CustomerId, channel: Channel, day: DayQuery) -> DailyUsage:
        return bank.daily_usage(customer_id, channel, day)

    # Records --------------------------------------------------------------------------------
    @r.get("/accounts/{account_number}/history", tags=["records"])
    def history(account_number: AccountNumber, start: DayQuery, end: DayQuery) -> list[Posting]:
        return bank.history(account_number, start, end)

    @r.get("/accounts/{account_number}/statement", tags=["records"])
    def statement(account_number: AccountNumber, start: DayQuery, end: DayQuery) -> StatementWire:
        """The statement's figures with the PDF as base64 in field ``pdf``."""
        return StatementWire.from_document(bank.statement(account_number, start, end))

    @r.get(
        "/accounts/{account_number}/statement.pdf",
        tags=["records"],
        response_class=Response,
        responses={200: {"content": {"application/pdf": {}}}},
    )
    def statement_pdf(account_number: AccountNumber, start: DayQuery, end: DayQuery) -> Response:
        """The same statement as a PDF; its verification code is in header ``X-Verification-Code``."""
        document = bank.statement(account_number, start, end)
        return Response(
            document.pdf,
            media_type="application/pdf",
            headers={
                "X-Verification-Code": document.verification_code,
                "Content-Disposition": f'inline; filename="statement-{start}-{end}.pdf"',
            },
        )

    return r


def create_app(
    bank: CoreBanking,
    *,
    kiosks: KioskKeyTable,
    window_s: int = DEFAULT_WINDOW_S,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    audit: Callable[[AuthDenied], None] | None = None,
) -> FastAPI:
    """Build the HTTP API over ``bank``, open only to requests signed by one of ``kiosks``.

    Endpoints are sync functions: FastAPI runs them in its thread pool, so a blocking database
    call never stalls the event loop. ``audit`` receives every refused request (it is also logged).

    Usage::

        kiosks = KioskKeyTable([KioskKey("VTM-0001", load_key(settings.keys_dir, "bank_api"))])
        app = create_app(SandboxBank(create_bank_engine(url)), kiosks=kiosks)
        uvicorn.run(app, host="127.0.0.1", port=8470)
    """
    app = FastAPI(
        title="VTM sandbox core bank",
        version="1",
        description="The sandbox core bank behind the VTM kiosk. Errors are "
        '`{"code", "message", "retry_safe", "context"}`; keyed calls are idempotent. Every route but '
        "`/health` needs a kiosk signature (headers `X-VTM-Kiosk`, `X-VTM-Timestamp`, `X-VTM-Nonce`, "
        "`X-VTM-Signature`; see docs/security.md).",
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,  # machine clients only: a path that matches no route is a plain 404
    )
    router = _router(bank)
    app.include_router(router)

    @app.get("/health", tags=["service"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.exception_handler(errors.CoreBankingError)
    async def _core_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.CoreBankingError)  # registered for this class only
        return _envelope(error_body(exc), _status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        # Name the fields and the problems, never the input: the body may hold a PIN.
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()
        )
        body = ErrorBody(code=errors.InvalidRequest.code, message=problems or "invalid request",
                         retry_safe=errors.InvalidRequest.retry_safe, context={})
        return _envelope(body, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code != 400:  # 404/405 of unknown routes stay plain: not the API's own answer
            return await http_exception_handler(request, exc)
        body = ErrorBody(code=errors.InvalidRequest.code, message="the request body could not be parsed",
                         retry_safe=errors.InvalidRequest.retry_safe, context={})
        return _envelope(body, 400)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("event=core_unexpected_error route=%s", _route_template(request))
        body = ErrorBody(code=errors.CoreBankingError.code, message="internal error in the core bank",
                         retry_safe=False, context={})
        return _envelope(body, 500)

    @app.middleware("http")
    async def _request_log(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        log.info(
            "event=core_request kiosk=%s method=%s route=%s status=%d ms=%.1f",
            getattr(request.state, "kiosk_id", "-"), request.method, _route_template(request),
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response

    # Outermost: nothing, not even a validation error, answers a request that is not signed.
    # The routes as declared (the router's own, with their tags), for scopes and log templates.
    routes = [*router.routes, *(route for route in app.router.routes if isinstance(route, Route))]
    app.add_middleware(
        SignedRequests, kiosks=kiosks, routes=routes, window_s=window_s,
        max_body_bytes=max_body_bytes, nonces=NonceCache(window_s), audit=audit,
    )
    return app


def _route_template(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "<unmatched>"

"""The HTTP adapter: :class:`HttpCoreBanking` implements the CoreBanking port over the bank's HTTP API.

It speaks the API of :mod:`vtm.banking.http_server` (and so any gateway that speaks it) with
httpx, and it never turns an unknown outcome into a guess. Every call belongs to one of three
kinds, and each kind has its own retry rule:

``read``
    Balance, history, lookups. Repeating them changes nothing, so connection failures, timeouts,
    5xx and ``unavailable`` are retried up to ``retries`` times; then :class:`Unavailable`.
``keyed``
    Transfers, revocations and card-status changes carry an idempotency key. A failure *before*
    the request left (connect error, pool timeout) or an ``unavailable`` envelope (the server says
    nothing was applied) is retried with the same request. A failure *after* sending (read
    timeout, dropped connection, a 5xx that is not an ``unavailable`` envelope) means the core
    may have applied it: the adapter first asks the transfer's status by key, and if the core
    never saw the key it re-sends the *same* keyed request, which the core answers idempotently.
    It never sends a new key. If the outcome still cannot be learned: :class:`OutcomeUnknown`.
``once``
    The PIN check and the PIN change count failed attempts, so they are not repeated once sent; an
    unknown outcome is :class:`OutcomeUnknown`. A PIN change is also keyed: the caller may repeat it
    with the same key, and if the first one landed the core replays its result.

Every request is signed with the kiosk's key (:class:`RequestSigner`, see :mod:`vtm.banking.signing`),
each attempt afresh: a retry carries a new timestamp and nonce, so the server's replay check never
refuses a legitimate retry. A refused credential is :class:`~vtm.banking.errors.CredentialRejected`
(or :class:`~vtm.banking.errors.Forbidden`), raised at once: no retry can fix a wrong key.

Usage::

    credential = KioskKey("VTM-0001", load_key(settings.keys_dir, "bank_api"))
    with HttpCoreBanking("http://127.0.0.1:8470", credential=credential) as core:
        core.balance("6217000010001234567")

Tests inject an ``httpx.BaseTransport`` (for instance a fault-injecting wrapper) via ``transport``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator
from datetime import date
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from vtm.banking.errors import CoreBankingError, OutcomeUnknown, Unavailable, error_from_code
from vtm.banking.models import (
    Account,
    AuthResult,
    Balance,
    CardInfo,
    Channel,
    Customer,
    DailyUsage,
    IdentityResult,
    LossKind,
    LossReport,
    PayeeCheck,
    PinChange,
    Posting,
    Replacement,
    RevokeResult,
    SavedPayee,
    StatementDocument,
    TransferRequest,
    TransferResult,
)
from vtm.banking.signing import KioskKey, signed_headers
from vtm.banking.wire import (
    API_PREFIX,
    CardAuthBody,
    CardBody,
    ErrorBody,
    IdentityBody,
    KeyedCardBody,
    LossReportBody,
    PayeeBody,
    RevokeBody,
    StatementWire,
    TransferStatusReply,
)

__all__ = ["DEFAULT_TIMEOUT", "HttpCoreBanking", "RequestSigner"]

log = logging.getLogger("vtm.banking.http_client")

T = TypeVar("T")

DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=2.0)

# The request certainly never reached the server: repeating it is safe whatever it is.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Anything else httpx raises while talking may have happened after the server got the request.
_MAYBE_SENT = (httpx.TransportError,)


class _Retry(Exception):
    """Internal: this attempt taught nothing final. ``maybe_applied`` says whether it may have."""

    def __init__(self, reason: str, *, maybe_applied: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.maybe_applied = maybe_applied


class RequestSigner(httpx.Auth):
    """httpx authentication that signs each request it sends (method, path and query, body)."""

    requires_request_body = True

    def __init__(self, credential: KioskKey, clock: Callable[[], float] = time.time) -> None:
        self._credential = credential
        self._clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(signed_headers(self._credential, request.method, request.url.raw_path,
                                              request.content, now=self._clock()))
        yield request


class HttpCoreBanking:
    """CoreBanking over HTTP. Thread-safe as far as httpx.Client is; one instance per kiosk."""

    def __init__(
        self,
        base_url: str,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retries: int = 2,
        *,
        credential: KioskKey,
        transport: httpx.BaseTransport | None = None,
        backoff_s: float = 0.05,
    ) -> None:
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self._retries = retries
        self._backoff_s = backoff_s
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
                                    auth=RequestSigner(credential))

    # Lifecycle ------------------------------------------------------------------------------
    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # Identity -------------------------------------------------------------------------------
    def authenticate_card(self, card_number: str, pin: str) -> AuthResult:
        body = CardAuthBody.model_validate({"card_number": card_number, "pin": pin})
        payload = {"card_number": body.card_number, "pin": body.pin.get_secret_value()}
        return self._once("authenticate_card", lambda: self._post("/auth/card", payload), AuthResult)

    def verify_identity(self, id_number: str, face_score: float | None = None) -> IdentityResult:
        body = IdentityBody(id_number=id_number, face_score=face_score)
        return self._read("verify_identity", lambda: self._post("/identity/verify", body), IdentityResult)

    # Cards ----------------------------------------------------------------------------------
    def card_status(self, card_number: str) -> CardInfo:
        body = CardBody(card_number=card_number)
        return self._read("card_status", lambda: self._post("/cards/status", body), CardInfo)

    def customer(self, customer_id: str) -> Customer:
        return self._read("customer", lambda: self._get(f"/customers/{_seg(customer_id)}"), Customer)

    def cards_of_customer(self, customer_id: str) -> list[CardInfo]:
        return self._read("cards_of_customer", lambda: self._get(f"/customers/{_seg(customer_id)}/cards"),
                          TypeAdapter(list[CardInfo]))

    def report_loss(self, card_number: str, kind: LossKind, idempotency_key: str) -> LossReport:
        body = LossReportBody(card_number=card_number, kind=kind, idempotency_key=idempotency_key)
        return self._keyed("report_loss", idempotency_key, lambda: self._post("/cards/loss-reports", body),
                           LossReport)

    def freeze_card(self, card_number: str, idempotency_key: str) -> CardInfo:
        body = KeyedCardBody(card_number=card_number, idempotency_key=idempotency_key)
        return self._keyed("freeze_card", idempotency_key,
                           lambda: self._post("/cards/freeze", body), CardInfo)

    def order_replacement(self, card_number: str, idempotency_key: str) -> Replacement:
        body = KeyedCardBody(card_number=card_number, idempotency_key=idempotency_key)
        return self._keyed("order_replacement", idempotency_key,
                           lambda: self._post("/cards/replacements", body), Replacement)

    def change_pin(self, card_number: str, current_pin: str, new_pin: str, idempotency_key: str) -> PinChange:
        # Sent as a plain dict, not validated here: a local validation error would quote the PIN.
        payload = {"card_number": card_number, "current_pin": current_pin, "new_pin": new_pin,
                   "idempotency_key": idempotency_key}
        return self._once("change_pin", lambda: self._post("/cards/pin-changes", payload), PinChange)

    # Accounts -------------------------------------------------------------------------------
    def list_accounts(self, customer_id: str) -> list[Account]:
        return self._read("list_accounts", lambda: self._get(f"/customers/{_seg(customer_id)}/accounts"),
                          TypeAdapter(list[Account]))

    def balance(self, account_number: str) -> Balance:
        return self._read("balance", lambda: self._get(f"/accounts/{_seg(account_number)}/balance"), Balance)

    def saved_payees(self, customer_id: str) -> list[SavedPayee]:
        return self._read("saved_payees", lambda: self._get(f"/customers/{_seg(customer_id)}/payees"),
                          TypeAdapter(list[SavedPayee]))

    def validate_payee(self, account_number: str, name: str, bank: str | None = None) -> PayeeCheck:
        body = PayeeBody(account_number=account_number, name=name, bank=bank)
        return self._read("validate_payee", lambda: self._post("/payees/validate", body), PayeeCheck)

    # Money ----------------------------------------------------------------------------------
    def transfer(self, request: TransferRequest) -> TransferResult:
        def inquire() -> TransferResult | None:
            return self.transfer_status(request.idempotency_key)

        return self._keyed("transfer", request.idempotency_key, lambda: self._post("/transfers", request),
                           TransferResult, inquire=inquire)

    def pending_transfers(self, customer_id: str) -> list[TransferResult]:
        return self._read("pending_transfers", lambda: self._get(f"/customers/{_seg(customer_id)}/pending-transfers"),
                          TypeAdapter(list[TransferResult]))

    def transfer_status(self, idempotency_key: str) -> TransferResult | None:
        path = f"/transfers/by-key/{_seg(idempotency_key)}"
        reply = self._read("transfer_status", lambda: self._get(path), TransferStatusReply)
        if reply.idempotency_key != idempotency_key:
            raise CoreBankingError("status reply names another key", op="transfer_status")
        return reply.result if reply.found else None

    def revoke_transfer(self, reference: str, idempotency_key: str) -> RevokeResult:
        body = RevokeBody(idempotency_key=idempotency_key)
        return self._keyed("revoke_transfer", idempotency_key,
                           lambda: self._post(f"/transfers/{_seg(reference)}/revoke", body), RevokeResult)

    def daily_usage(self, customer_id: str, channel: Channel, day: date) -> DailyUsage:
        params = {"channel": channel.value, "day": day.isoformat()}
        path = f"/customers/{_seg(customer_id)}/daily-usage"
        return self._read("daily_usage", lambda: self._get(path, params), DailyUsage)

    # Records --------------------------------------------------------------------------------
    def history(self, account_number: str, start: date, end: date) -> list[Posting]:
        params = {"start": start.isoformat(), "end": end.isoformat()}
        return self._read("history", lambda: self._get(f"/accounts/{_seg(account_number)}/history", params),
                          TypeAdapter(list[Posting]))

    def statement(self, account_number: str, start: date, end: date) -> StatementDocument:
        params = {"start": start.isoformat(), "end": end.isoformat()}
        path = f"/accounts/{_seg(account_number)}/statement"
        wire = self._read("statement", lambda: self._get(path, params), StatementWire)
        return wire.to_document()

    # Transport ------------------------------------------------------------------------------
    def _post(self, path: str, body: BaseModel | dict[str, Any]) -> httpx.Response:
        content = body.model_dump_json() if isinstance(body, BaseModel) else None
        return self._client.post(API_PREFIX + path, content=content, json=None if content else body,
                                 headers={"content-type": "application/json"})

    def _get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        return self._client.get(API_PREFIX + path, params=params)

    def _attempt(self, send: Callable[[], httpx.Response], parse: type[T] | TypeAdapter[T]) -> T:
        """One exchange: a value, a typed error (raised), or :class:`_Retry` saying what is known."""
        try:
            response = send()
        except _NOT_SENT as exc:
            raise _Retry(f"not sent: {type(exc).__name__}", maybe_applied=False) from exc
        except _MAYBE_SENT as exc:
            raise _Retry(f"no answer: {type(exc).__name__}", maybe_applied=True) from exc
        if response.is_success:
            try:
                if isinstance(parse, TypeAdapter):
                    return parse.validate_json(response.content)
                return TypeAdapter(parse).validate_json(response.content)
            except ValidationError as exc:
                raise _Retry(f"unreadable {response.status_code} reply", maybe_applied=True) from exc
        try:
            envelope = ErrorBody.model_validate_json(response.content)
        except ValidationError:
            # A proxy page or a crash before our handler: says nothing about what was applied.
            raise _Retry(f"HTTP {response.status_code} without error envelope", maybe_applied=True) from None
        error = error_from_code(envelope.code, envelope.message, dict(envelope.context))
        if isinstance(error, Unavailable):
            raise _Retry(f"unavailable: {envelope.message}", maybe_applied=False)
        if isinstance(error, OutcomeUnknown) or response.status_code >= 500:
            raise _Retry(f"HTTP {response.status_code} {envelope.code}", maybe_applied=True)
        raise error

    def _pause(self, attempt: int) -> None:
        time.sleep(min(self._backoff_s * 2 ** (attempt - 1), 2.0))

    def _read(self, op: str, send: Callable[[], httpx.Response], parse: type[T] | TypeAdapter[T]) -> T:
        last = ""
        for attempt in range(1, self._retries + 2):
            try:
                return self._attempt(send, parse)
            except _Retry as retry:
                last = retry.reason
                log.warning("event=core_retry op=%s attempt=%d reason=%s", op, attempt, last)
            if attempt <= self._retries:
                self._pause(attempt)
        raise Unavailable(f"core bank did not answer {op}: {last}", op=op, attempts=self._retries + 1)

    def _once(self, op: str, send: Callable[[], httpx.Response], parse: type[T]) -> T:
        last = ""
        for attempt in range(1, self._retries + 2):
            try:
                return self._attempt(send, parse)
            except _Retry as retry:
                last = retry.reason
                if retry.maybe_applied:
                    raise OutcomeUnknown(f"{op} may have been counted: {last}", op=op) from retry
                log.warning("event=core_retry op=%s attempt=%d reason=%s", op, attempt, last)
            if attempt <= self._retries:
                self._pause(attempt)
        raise Unavailable(f"core bank did not answer {op}: {last}", op=op, attempts=self._retries + 1)

    def _keyed(self, op: str, key: str, send: Callable[[], httpx.Response], parse: type[T],
               inquire: Callable[[], T | None] | None = None) -> T:
        """Send a keyed call; after an unknown outcome, learn it by key before anything else."""
        maybe_applied = False
        last = ""
        for attempt in range(1, self._retries + 2):
            if maybe_applied and inquire is not None:
                try:
                    known = inquire()
                except CoreBankingError as exc:
                    last = f"status inquiry failed: {exc.message}"
                    log.warning("event=core_status_unknown op=%s attempt=%d reason=%s", op, attempt, last)
                else:
                    if known is not None:
                        log.info("event=core_outcome_resolved op=%s attempt=%d found=true", op, attempt)
                        return known
                    # The core never saw the key (or not yet): re-send the *same* keyed request;
                    # if the first one lands meanwhile, the core answers both with one result.
            try:
                return self._attempt(send, parse)
            except _Retry as retry:
                last = retry.reason
                maybe_applied = maybe_applied or retry.maybe_applied
                log.warning("event=core_retry op=%s attempt=%d maybe_applied=%s reason=%s",
                            op, attempt, maybe_applied, last)
            if attempt <= self._retries:
                self._pause(attempt)
        if maybe_applied:
            raise OutcomeUnknown(f"outcome of {op} unknown; ask its status by key: {last}",
                                 op=op, idempotency_key=key)
        raise Unavailable(f"core bank did not take {op}: {last}", op=op, attempts=self._retries + 1)


def _seg(value: str) -> str:
    """One URL path segment, percent-encoded so that a value can never change the route."""
    return quote(value, safe="")

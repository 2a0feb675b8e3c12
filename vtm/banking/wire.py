"""Wire forms of the core-banking HTTP API, shared by the server and the HTTP adapter.

The API's bodies are the pydantic values of :mod:`vtm.banking.models`; this module only adds what
the port's method signatures carry as loose arguments (request bodies), the error envelope, and
two replies that JSON cannot carry as-is:

* :class:`TransferStatusReply` says *explicitly* whether the core knows a key. A bare 404 could
  also come from a wrong URL or a proxy, and "the core never saw it" must never be guessed.
* :class:`StatementWire` is a :class:`~vtm.banking.models.StatementDocument` whose PDF bytes
  travel as base64 inside the JSON.

Input from the wire is held to stricter forms than in-process values (bad input is a 422, never
a 500): money is a decimal *string* of ASCII digits (:data:`WireMoney`, no floats, exponents,
underscores or other scripts' digits), and a day is an ISO ``YYYY-MM-DD`` within
:data:`EARLIEST_DAY` .. :data:`LATEST_DAY` (:data:`WireDay`).

Secrets are typed: every PIN is a :class:`pydantic.SecretStr`, so it prints as ``**********``
in any log line or error that shows the body.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, WithJsonSchema

from vtm.banking.errors import CoreBankingError
from vtm.banking.models import LossKind, Money, StatementDocument, TransferRequest, TransferResult

__all__ = [
    "API_PREFIX",
    "EARLIEST_DAY",
    "LATEST_DAY",
    "MONEY_TEXT",
    "CardAuthBody",
    "CardBody",
    "ErrorBody",
    "IdentityBody",
    "KeyedCardBody",
    "LossReportBody",
    "PayeeBody",
    "PinChangeBody",
    "RevokeBody",
    "StatementWire",
    "TransferBody",
    "TransferStatusReply",
    "WireDay",
    "WireMoney",
    "error_body",
]

API_PREFIX = "/v1"

EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(2100, 12, 31)
"""The calendar the API accepts: wider than any account's life, narrow enough that no date sum overflows."""

MONEY_TEXT = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")
"""Canonical money on the wire (``fullmatch``): ASCII digits, optionally a point and one or two more.
Twelve integer digits admit every amount up to ``models.MAX_AMOUNT``; the Money bounds then apply."""

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _money_text(value: object) -> object:
    if isinstance(value, Decimal):  # a value built in-process (the adapter's own model), not wire text
        return value
    if not isinstance(value, str):
        raise ValueError("money travels as a decimal string such as \"300.00\", never as a JSON number")
    if not MONEY_TEXT.fullmatch(value):
        raise ValueError("money is ASCII digits with at most two decimals, such as \"300\" or \"300.50\"")
    return value


def _iso_day(value: object) -> object:
    if isinstance(value, str) and not _ISO_DAY.fullmatch(value):
        raise ValueError("a day is written YYYY-MM-DD")
    if not isinstance(value, str | date):
        raise ValueError("a day is written YYYY-MM-DD")
    return value


def _in_calendar(value: date) -> date:
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise ValueError(f"a day lies between {EARLIEST_DAY} and {LATEST_DAY}")
    return value


WireMoney = Annotated[
    Money,
    BeforeValidator(_money_text),
    WithJsonSchema({"type": "string", "pattern": f"^{MONEY_TEXT.pattern}$", "examples": ["300.00"]}),
]
"""Money as the API accepts it: a canonical decimal string, then the usual :data:`Money` bounds."""

WireDay = Annotated[
    date,
    BeforeValidator(_iso_day),
    AfterValidator(_in_calendar),
    WithJsonSchema({"type": "string", "format": "date",
                    "description": f"YYYY-MM-DD, {EARLIEST_DAY} .. {LATEST_DAY}"}),
]
"""A bank day as the API accepts it: ``YYYY-MM-DD`` between :data:`EARLIEST_DAY` and :data:`LATEST_DAY`."""


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CardAuthBody(_Body):
    """Card + PIN. The PIN only ever travels in this POST body."""

    card_number: str = Field(min_length=12, max_length=19, pattern=r"^\d+$")
    pin: SecretStr = Field(min_length=4, max_length=12)


class IdentityBody(_Body):
    """Resident ID number (in the body, never in a URL) and an optional face-match score."""

    id_number: str = Field(min_length=15, max_length=18)
    face_score: float | None = Field(default=None, ge=0.0, le=1.0)


class CardBody(_Body):
    """A card number in the body: card numbers never appear in URLs (they would reach access logs)."""

    card_number: str = Field(min_length=12, max_length=19, pattern=r"^\d+$")


class KeyedCardBody(CardBody):
    idempotency_key: str = Field(min_length=8, max_length=80)


class LossReportBody(KeyedCardBody):
    kind: LossKind


class PinChangeBody(KeyedCardBody):
    """Card, current PIN and new PIN. Both PINs only ever travel in this POST body."""

    current_pin: SecretStr = Field(min_length=4, max_length=12)
    new_pin: SecretStr = Field(min_length=4, max_length=12)


class PayeeBody(_Body):
    account_number: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=64)
    bank: str | None = Field(default=None, max_length=64)


class RevokeBody(_Body):
    idempotency_key: str = Field(min_length=8, max_length=80)


class TransferBody(TransferRequest):
    """A transfer as it arrives over HTTP: :class:`TransferRequest` with its amount as canonical text."""

    amount: WireMoney = Field(gt=0)

    def to_request(self) -> TransferRequest:
        return TransferRequest.model_validate(dict(self))


class TransferStatusReply(_Body):
    """``found`` is False only when the core has no transfer under this key at all."""

    idempotency_key: str
    found: bool
    result: TransferResult | None = None


class StatementWire(StatementDocument):
    """A statement whose ``pdf`` is base64 in JSON (decoded back to bytes on validation)."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")

    @classmethod
    def from_document(cls, document: StatementDocument) -> StatementWire:
        return cls.model_validate(dict(document))

    def to_document(self) -> StatementDocument:
        return StatementDocument.model_validate(dict(self))


class ErrorBody(_Body):
    """Every error response: the error's stable code, whether repeating the call is safe, and context.

    A 5xx whose body is *not* this envelope (a proxy's page, a dropped connection) says nothing
    about whether the request was applied.
    """

    code: str
    message: str
    retry_safe: bool
    context: dict[str, str | int | bool | None] = {}


def error_body(error: CoreBankingError) -> ErrorBody:
    return ErrorBody.model_validate(error.to_dict())


"""Wire forms of the core-banking HTTP API, shared by the server and the HTTP adapter.

The API's bodies are the pydantic values of :mod:`vtm.banking.models`; this module only adds what
the port's method signatures carry as loose arguments (request bodies), the error envelope, and
two replies that JSON cannot carry as-is:

* :class:`TransferStatusReply` says *explicitly* whether the core knows a key. A bare 404 could
  also come from a wrong URL or a proxy, and "the core never saw it" must never be guessed.
* :class:`StatementWire` is a :class:`~vtm.banking.models.StatementDocument` whose PDF bytes
  travel as base64 inside the JSON.

Secrets are typed: the PIN is a :class:`pydantic.SecretStr`, so it prints as ``**********``
in any log line or error that shows the body.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from vtm.banking.errors import CoreBankingError
from vtm.banking.models import LossKind, StatementDocument, TransferResult

__all__ = [
    "API_PREFIX",
    "CardAuthBody",
    "CardBody",
    "ErrorBody",
    "IdentityBody",
    "KeyedCardBody",
    "LossReportBody",
    "PayeeBody",
    "RevokeBody",
    "StatementWire",
    "TransferStatusReply",
    "error_body",
]

API_PREFIX = "/v1"


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


class PayeeBody(_Body):
    account_number: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=64)
    bank: str | None = Field(default=None, max_length=64)


class RevokeBody(_Body):
    idempotency_key: str = Field(min_length=8, max_length=80)


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


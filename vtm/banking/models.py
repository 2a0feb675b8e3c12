"""Typed values crossing the core-banking boundary (pydantic, JSON-serialisable).

Money is ``Decimal`` yuan with two places (``Money``); the sandbox stores integer fen.
Card, account and ID numbers are plain strings here: masking happens where text leaves the
engine (``vtm.common.masking``), never by mutating domain values.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "MEMO_MAX_CHARS",
    "Account",
    "Arrival",
    "AuthResult",
    "Balance",
    "CardInfo",
    "CardStatus",
    "Channel",
    "Customer",
    "DailyUsage",
    "IdentityResult",
    "LossKind",
    "LossReport",
    "Money",
    "PayeeCheck",
    "PinChange",
    "Posting",
    "Replacement",
    "RevokeResult",
    "SavedPayee",
    "StatementDocument",
    "TransferRequest",
    "TransferResult",
    "TransferStatus",
    "from_fen",
    "to_fen",
]

MAX_AMOUNT = Decimal("100000000.00")  # no kiosk movement is ever above 100 million yuan


def _money(value: Decimal) -> Decimal:
    quantized = value.quantize(Decimal("0.01"))
    if quantized != value:
        raise ValueError("money has at most two decimal places (fen)")
    return quantized


Money = Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, max_digits=12, decimal_places=2), AfterValidator(_money)]
"""A non-negative amount of money moved, in yuan with at most two decimals."""

BalanceAmount = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2), AfterValidator(_money)]
"""An account balance: never negative, but not capped like a single movement."""


def to_fen(amount: Decimal) -> int:
    return int((amount * 100).to_integral_exact())


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CardStatus(StrEnum):
    ACTIVE = "active"
    TEMPORARILY_LOST = "temporarily_lost"
    LOST = "lost"
    FROZEN = "frozen"
    REPLACED = "replaced"


class LossKind(StrEnum):
    TEMPORARY = "temporary"
    FORMAL = "formal"


class Arrival(StrEnum):
    REALTIME = "realtime"
    DELAYED = "delayed"


class Channel(StrEnum):
    KIOSK = "kiosk"
    COUNTER = "counter"
    MOBILE = "mobile"


class TransferStatus(StrEnum):
    POSTED = "posted"
    DELAYED = "delayed"
    REJECTED = "rejected"
    REVOKED = "revoked"


class Customer(_Frozen):
    customer_id: str
    name: str
    id_number: str
    phone: str
    email: str | None
    birth_date: date
    language: str = "zh"


class AuthResult(_Frozen):
    customer_id: str
    customer_name: str
    card_number: str
    card_status: CardStatus
    elderly: bool
    birth_date: date


class IdentityResult(_Frozen):
    customer_id: str
    customer_name: str
    id_number: str
    face_matched: bool | None = Field(description="None when no face check was done")


class CardInfo(_Frozen):
    card_number: str
    customer_id: str
    status: CardStatus
    pin_locked: bool
    failed_pin_attempts: int
    loss_expires_at: datetime | None = None
    account_number: str


class LossReport(_Frozen):
    reference: str
    card_number: str
    kind: LossKind
    status: CardStatus
    accepted_at: datetime
    expires_at: datetime | None = Field(description="When a temporary report lapses")
    replacement_available_at: datetime | None = None


class PinChange(_Frozen):
    """A PIN changed at the core (the PINs themselves never leave the core's request)."""

    reference: str
    card_number: str
    changed_at: datetime


class Replacement(_Frozen):
    reference: str
    old_card_number: str
    new_card_number: str
    ready_at: datetime


class Account(_Frozen):
    account_number: str
    customer_id: str
    currency: str = "CNY"
    balance: BalanceAmount
    card_numbers: list[str] = []


class Balance(_Frozen):
    account_number: str
    currency: str
    balance: BalanceAmount
    available: BalanceAmount
    as_of: datetime


class SavedPayee(_Frozen):
    payee_id: str
    name: str
    account_number: str
    bank: str
    same_bank: bool


class PayeeCheck(_Frozen):
    account_number: str
    bank: str
    exists: bool
    name_matches: bool
    same_bank: bool
    own_account: bool
    holder_masked_name: str | None


MEMO_MAX_CHARS = 60
"""A transfer memo (附言) is a short note for the payee's statement, not a document."""


class TransferRequest(_Frozen):
    idempotency_key: str = Field(min_length=8, max_length=80)
    from_account: str = Field(min_length=1, max_length=40)
    to_account: str = Field(min_length=1, max_length=40)
    payee_name: str = Field(min_length=1, max_length=64)
    payee_bank: str = Field(min_length=1, max_length=64)
    amount: Money = Field(gt=0)
    arrival: Arrival = Arrival.DELAYED
    channel: Channel = Channel.KIOSK
    memo: str = Field(default="", max_length=MEMO_MAX_CHARS)


class TransferResult(_Frozen):
    idempotency_key: str
    reference: str
    status: TransferStatus
    amount: Money
    from_account: str
    to_account: str
    accepted_at: datetime
    execute_at: datetime | None = Field(default=None, description="When a delayed transfer settles")
    reason: str | None = None


class RevokeResult(_Frozen):
    reference: str
    status: TransferStatus
    refunded: Money


class Posting(_Frozen):
    posting_id: int
    account_number: str
    booked_at: datetime
    description: str
    counterparty: str | None
    amount: Decimal = Field(description="Signed: negative is a debit")
    balance_after: Decimal
    reference: str


class StatementDocument(_Frozen):
    account_number: str
    start: date
    end: date
    opening_balance: Decimal
    closing_balance: Decimal
    posting_count: int
    total_debit: Decimal
    total_credit: Decimal
    verification_code: str
    pages: int
    pdf: bytes = Field(repr=False)


class DailyUsage(_Frozen):
    customer_id: str
    channel: Channel
    day: date
    transferred: Money
    transfer_count: int

"""Tables of the sandbox core bank (SQLAlchemy 2 typed ORM). Money is integer fen, times are UTC.

::

    customers ─┬─< accounts ─< postings >── (journal: one ``reference`` per balanced entry)
               ├─< cards (PIN hash, attempts, loss state) ── account
               └─< payees          external_accounts (holders at other banks)
    transfers (one per idempotency key)      operations (idempotency of card ops, PIN changes, revokes)

Invariants the database itself enforces: a customer account never has a negative balance
(CHECK); an idempotency key is used once (UNIQUE); a card number and an ID number are unique.
Internal ledger accounts (clearing, inter-bank settlement, cash, equity) are not balance-maintained
row by row - their balance is the sum of their postings - so that no transfer has to lock a hot row.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "AccountRow",
    "Base",
    "CardRow",
    "CustomerRow",
    "ExternalAccountRow",
    "OperationRow",
    "PayeeRow",
    "PostingRow",
    "TransferRow",
    "UTCDateTime",
]


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as naive UTC (SQLite has no time zones) and returns them aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class CustomerRow(Base):
    __tablename__ = "customers"

    customer_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    phone: Mapped[str] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(120))
    birth_date: Mapped[date] = mapped_column(Date)
    language: Mapped[str] = mapped_column(String(8), default="zh")


class AccountRow(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("kind IN ('customer', 'internal')", name="ck_accounts_kind"),
        CheckConstraint("kind <> 'customer' OR balance_fen >= 0", name="ck_accounts_no_overdraft"),
    )

    account_number: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.customer_id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="customer")
    name: Mapped[str] = mapped_column(String(64), default="")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    balance_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CardRow(Base):
    __tablename__ = "cards"
    __table_args__ = (
        CheckConstraint(
            "status IN ('active', 'temporarily_lost', 'lost', 'frozen', 'replaced')", name="ck_cards_status"
        ),
        CheckConstraint("failed_pin_attempts >= 0", name="ck_cards_attempts"),
    )

    card_number: Mapped[str] = mapped_column(String(19), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.customer_id"), index=True)
    account_number: Mapped[str] = mapped_column(ForeignKey("accounts.account_number"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    pin_hash: Mapped[str] = mapped_column(String(200))
    failed_pin_attempts: Mapped[int] = mapped_column(Integer, default=0)
    loss_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    loss_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replacement_available_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replaced_by: Mapped[str | None] = mapped_column(String(19))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ExternalAccountRow(Base):
    """An account at another bank, with its holder's name, so payees there can be validated."""

    __tablename__ = "external_accounts"
    __table_args__ = (UniqueConstraint("bank", "account_number", name="uq_external_bank_account"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bank: Mapped[str] = mapped_column(String(64))
    account_number: Mapped[str] = mapped_column(String(32), index=True)
    holder_name: Mapped[str] = mapped_column(String(64))


class PayeeRow(Base):
    __tablename__ = "payees"
    __table_args__ = (UniqueConstraint("customer_id", "account_number", name="uq_payee_per_customer"),)

    payee_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.customer_id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    account_number: Mapped[str] = mapped_column(String(32))
    bank: Mapped[str] = mapped_column(String(64))
    same_bank: Mapped[bool] = mapped_column(default=False)


class TransferRow(Base):
    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="ck_transfers_amount"),
        CheckConstraint("status IN ('posted', 'delayed', 'rejected', 'revoked')", name="ck_transfers_status"),
        Index("ix_transfers_due", "status", "execute_at"),
        Index("ix_transfers_usage", "customer_id", "channel", "accepted_at"),
    )

    reference: Mapped[str] = mapped_column(String(24), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.customer_id"))
    from_account: Mapped[str] = mapped_column(ForeignKey("accounts.account_number"))
    to_account: Mapped[str] = mapped_column(String(32))
    to_bank: Mapped[str] = mapped_column(String(64))
    credit_account: Mapped[str | None] = mapped_column(String(32), comment="sandbox account credited, if any")
    payee_name: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    arrival: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(10))
    own_transfer: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10))
    memo: Mapped[str] = mapped_column(Text, default="")
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    execute_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(String(64))


class PostingRow(Base):
    """One ledger line. Lines sharing a ``reference`` form one entry whose amounts sum to zero."""

    __tablename__ = "postings"
    __table_args__ = (
        CheckConstraint("amount_fen <> 0", name="ck_postings_nonzero"),
        Index("ix_postings_account_time", "account_number", "booked_at"),
    )

    posting_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    reference: Mapped[str] = mapped_column(String(24), index=True)
    account_number: Mapped[str] = mapped_column(ForeignKey("accounts.account_number"))
    amount_fen: Mapped[int] = mapped_column(BigInteger, comment="signed: negative is a debit")
    balance_after_fen: Mapped[int | None] = mapped_column(BigInteger, comment="customer accounts only")
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    description: Mapped[str] = mapped_column(String(120))
    counterparty: Mapped[str | None] = mapped_column(String(120))


class OperationRow(Base):
    """Idempotency record of a keyed card operation, PIN change or revoke: the request hash and the first
    result. A PIN change's hash covers its PINs only through a slow digest, and its result holds no PIN."""

    __tablename__ = "operations"

    idempotency_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    operation: Mapped[str] = mapped_column(String(32))
    request_hash: Mapped[str] = mapped_column(String(64))
    result_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

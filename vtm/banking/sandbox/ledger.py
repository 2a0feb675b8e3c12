"""Double-entry posting: every money movement is one balanced entry of ledger lines.

A customer account's balance moves only through :func:`post_entry`, by a guarded
``UPDATE ... SET balance = balance + :amount WHERE balance + :amount >= 0 RETURNING balance``.
On PostgreSQL the UPDATE takes the row lock, so two processes spending the same money serialise
on it and the second sees the first one's result; on SQLite the write transaction already holds
the database lock. Either way the guard, not an earlier read, decides, so a race cannot overdraw.
Legs are applied in account-number order so that two entries touching the same two accounts
cannot deadlock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from vtm.banking.errors import InsufficientFunds, NotFound
from vtm.banking.sandbox.schema import AccountRow, PostingRow

__all__ = [
    "CASH",
    "CLEARING",
    "EQUITY",
    "INTERBANK",
    "INTERNAL_ACCOUNTS",
    "LedgerCheck",
    "Leg",
    "check_ledger",
    "ensure_internal_accounts",
    "post_entry",
]

CLEARING = "VTMB-CLEARING"
"""Money of accepted, not yet settled delayed transfers."""
INTERBANK = "VTMB-INTERBANK"
"""The bank's position with the inter-bank clearing system (money to and from other banks)."""
CASH = "VTMB-CASH"
"""Cash paid in and out at counters and ATMs."""
EQUITY = "VTMB-EQUITY"
"""Opening balances of the demo bank."""

INTERNAL_ACCOUNTS: dict[str, str] = {
    CLEARING: "延时转账在途 Delayed transfers in transit",
    INTERBANK: "跨行清算 Inter-bank settlement",
    CASH: "现金 Cash",
    EQUITY: "期初权益 Opening equity",
}


@dataclass(frozen=True)
class Leg:
    """One line of an entry: ``amount_fen`` is signed (negative debits the account)."""

    account_number: str
    amount_fen: int
    description: str
    counterparty: str | None = None


def _apply(session: Session, leg: Leg) -> int | None:
    """Move the balance of a customer account; internal accounts have no maintained balance."""
    if leg.account_number in INTERNAL_ACCOUNTS:
        return None
    stmt = (
        update(AccountRow)
        .where(AccountRow.account_number == leg.account_number, AccountRow.kind == "customer")
        .where(AccountRow.balance_fen + leg.amount_fen >= 0)
        .values(balance_fen=AccountRow.balance_fen + leg.amount_fen)
        .returning(AccountRow.balance_fen)
        .execution_options(synchronize_session=False)
    )
    balance = session.execute(stmt).scalar_one_or_none()
    if balance is None:
        if session.get(AccountRow, leg.account_number) is None:
            raise NotFound("no such account", account=leg.account_number)
        raise InsufficientFunds("insufficient funds", account=leg.account_number)
    return balance


def post_entry(session: Session, reference: str, legs: list[Leg], booked_at: datetime) -> None:
    """Apply and record one balanced entry; raises before anything is kept if it cannot apply."""
    if len(legs) < 2 or sum(leg.amount_fen for leg in legs) != 0:
        raise ValueError(f"entry {reference} is not balanced")
    if any(leg.amount_fen == 0 for leg in legs):
        raise ValueError(f"entry {reference} has a zero line")
    rows = []
    for leg in sorted(legs, key=lambda leg: leg.account_number):
        rows.append(
            {
                "reference": reference,
                "account_number": leg.account_number,
                "amount_fen": leg.amount_fen,
                "balance_after_fen": _apply(session, leg),
                "booked_at": booked_at,
                "description": leg.description[:120],
                "counterparty": None if leg.counterparty is None else leg.counterparty[:120],
            }
        )
    session.execute(insert(PostingRow), rows)


def ensure_internal_accounts(session: Session, now: datetime) -> None:
    """Create the bank's internal ledger accounts if they are missing (idempotent)."""
    for number, name in INTERNAL_ACCOUNTS.items():
        if session.get(AccountRow, number) is None:
            session.add(
                AccountRow(
                    account_number=number,
                    customer_id=None,
                    kind="internal",
                    name=name,
                    currency="CNY",
                    balance_fen=0,
                    opened_at=now,
                )
            )


@dataclass(frozen=True)
class LedgerCheck:
    """The ledger's invariants, measured: all must hold for a sound bank."""

    total_fen: int
    posting_count: int
    unbalanced_entries: tuple[str, ...]
    drifted_accounts: tuple[str, ...]  # stored balance differs from the sum of its postings
    negative_accounts: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return (
            self.total_fen == 0
            and not self.unbalanced_entries
            and not self.drifted_accounts
            and not self.negative_accounts
        )


def check_ledger(session: Session) -> LedgerCheck:
    """Sum of all postings is zero, every entry balances, every customer balance equals its postings."""
    total, count = session.execute(
        select(func.coalesce(func.sum(PostingRow.amount_fen), 0), func.count(PostingRow.posting_id))
    ).one()
    unbalanced = session.scalars(
        select(PostingRow.reference)
        .group_by(PostingRow.reference)
        .having(func.sum(PostingRow.amount_fen) != 0)
    ).all()
    sums = (
        select(PostingRow.account_number, func.sum(PostingRow.amount_fen).label("fen"))
        .group_by(PostingRow.account_number)
        .subquery()
    )
    drifted = session.scalars(
        select(AccountRow.account_number)
        .outerjoin(sums, sums.c.account_number == AccountRow.account_number)
        .where(AccountRow.kind == "customer", AccountRow.balance_fen != func.coalesce(sums.c.fen, 0))
    ).all()
    negative = session.scalars(
        select(AccountRow.account_number).where(AccountRow.kind == "customer", AccountRow.balance_fen < 0)
    ).all()
    return LedgerCheck(int(total), int(count), tuple(unbalanced), tuple(drifted), tuple(negative))

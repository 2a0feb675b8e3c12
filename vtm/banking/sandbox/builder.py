"""Build bank contents: customers, accounts, cards, payees, external accounts, opening money.

Used by the demo seed and by tests to set up a world; every movement of money still goes through
:func:`~vtm.banking.sandbox.ledger.post_entry`, so the ledger stays balanced.

Usage::

    with Session(engine) as session, session.begin():
        b = BankBuilder(session, PinHasher.from_policy(policy), now)
        cust = b.customer("C0001", "张伟", "110101198001010019", phone="13800000001")
        acct = b.account(cust, "3100100000010013")
        b.card(cust, acct, "6222020000000000017", pin="123456")
        b.deposit(acct, 500_000)  # fen
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from vtm.banking.models import CardStatus
from vtm.banking.sandbox._base import new_reference
from vtm.banking.sandbox.ledger import CASH, EQUITY, Leg, post_entry
from vtm.banking.sandbox.pins import PinHasher
from vtm.banking.sandbox.schema import (
    AccountRow,
    CardRow,
    CustomerRow,
    ExternalAccountRow,
    PayeeRow,
)
from vtm.common.checksums import gb11643_valid, id_birth_date, luhn_valid

__all__ = ["BankBuilder"]


@dataclass
class BankBuilder:
    session: Session
    hasher: PinHasher
    now: datetime

    def customer(
        self,
        customer_id: str,
        name: str,
        id_number: str,
        *,
        phone: str,
        email: str | None = None,
        birth_date: date | None = None,
        language: str = "zh",
    ) -> CustomerRow:
        if not gb11643_valid(id_number):
            raise ValueError(f"invalid resident ID for {customer_id}")
        born = birth_date or id_birth_date(id_number)
        assert born is not None  # gb11643_valid checked the encoded date
        row = CustomerRow(
            customer_id=customer_id,
            name=name,
            id_number=id_number,
            phone=phone,
            email=email,
            birth_date=born,
            language=language,
        )
        self.session.add(row)
        self.session.flush()  # rows have no ORM relationships, so insert in dependency order now
        return row

    def account(self, customer: CustomerRow, number: str, *, opened_at: datetime | None = None) -> AccountRow:
        row = AccountRow(
            account_number=number,
            customer_id=customer.customer_id,
            kind="customer",
            name=customer.name,
            currency="CNY",
            balance_fen=0,
            opened_at=opened_at or self.now,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def card(
        self,
        customer: CustomerRow,
        account: AccountRow,
        number: str,
        *,
        pin: str | None = None,
        pin_hash: str | None = None,
        status: CardStatus = CardStatus.ACTIVE,
        failed_pin_attempts: int = 0,
        issued_at: datetime | None = None,
    ) -> CardRow:
        if not (16 <= len(number) <= 19 and number.startswith("62") and luhn_valid(number)):
            raise ValueError(f"card number of {customer.customer_id} is not a valid UnionPay number")
        if pin_hash is None:
            if pin is None:
                raise ValueError("a card needs a PIN or a PIN hash")
            pin_hash = self.hasher.hash(pin)
        row = CardRow(
            card_number=number,
            customer_id=customer.customer_id,
            account_number=account.account_number,
            status=status.value,
            pin_hash=pin_hash,
            failed_pin_attempts=failed_pin_attempts,
            issued_at=issued_at or self.now,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def external_account(self, bank: str, number: str, holder: str) -> ExternalAccountRow:
        row = ExternalAccountRow(bank=bank, account_number=number, holder_name=holder)
        self.session.add(row)
        self.session.flush()
        return row

    def payee(
        self, customer: CustomerRow, payee_id: str, name: str, number: str, bank: str, *, same_bank: bool
    ) -> PayeeRow:
        row = PayeeRow(
            payee_id=payee_id,
            customer_id=customer.customer_id,
            name=name,
            account_number=number,
            bank=bank,
            same_bank=same_bank,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def deposit(
        self,
        account: AccountRow,
        amount_fen: int,
        *,
        booked_at: datetime | None = None,
        source: str = EQUITY,
        description: str = "开户存入 Opening deposit",
    ) -> None:
        """Credit ``account`` from an internal account (equity by default, or cash) in one entry."""
        if source not in (EQUITY, CASH):
            raise ValueError("deposits come from equity or cash")
        self.session.flush()
        post_entry(
            self.session,
            new_reference("DP", booked_at or self.now),
            [Leg(source, -amount_fen, description), Leg(account.account_number, amount_fen, description)],
            booked_at or self.now,
        )

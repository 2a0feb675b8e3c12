"""Read-side operations of the sandbox bank: accounts, balances, payees, usage, history, statements.

Days are business days in the bank's time zone (``SandboxPolicy.timezone``); stored times are UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vtm.banking.errors import InvalidRequest
from vtm.banking.models import (
    Account,
    Balance,
    Channel,
    DailyUsage,
    PayeeCheck,
    Posting,
    SavedPayee,
    StatementDocument,
    TransferStatus,
    from_fen,
)
from vtm.banking.sandbox._base import _BankBase, names_match
from vtm.banking.sandbox.banks import SANDBOX_BANK, resolve_bank
from vtm.banking.sandbox.masking import mask_name
from vtm.banking.sandbox.schema import (
    AccountRow,
    CardRow,
    CustomerRow,
    ExternalAccountRow,
    PayeeRow,
    PostingRow,
    TransferRow,
)
from vtm.banking.sandbox.statement_pdf import StatementLine, StatementSpec, render_statement

__all__: list[str] = []


class _RecordOps(_BankBase):
    # Accounts ------------------------------------------------------------------------------
    def list_accounts(self, customer_id: str) -> list[Account]:
        with self._read() as session:
            self._customer(session, customer_id)
            accounts = session.scalars(
                select(AccountRow)
                .where(AccountRow.customer_id == customer_id)
                .order_by(AccountRow.account_number)
            ).all()
            cards = session.execute(
                select(CardRow.account_number, CardRow.card_number)
                .where(CardRow.customer_id == customer_id, CardRow.status != "replaced")
                .order_by(CardRow.issued_at, CardRow.card_number)
            ).all()
            return [
                Account(
                    account_number=a.account_number,
                    customer_id=customer_id,
                    currency=a.currency,
                    balance=from_fen(a.balance_fen),
                    card_numbers=[number for acc, number in cards if acc == a.account_number],
                )
                for a in accounts
            ]

    def balance(self, account_number: str) -> Balance:
        with self._read() as session:
            account = self._customer_account(session, account_number)
            amount = from_fen(account.balance_fen)
            return Balance(
                account_number=account.account_number,
                currency=account.currency,
                balance=amount,
                available=amount,
                as_of=self._now(),
            )

    def saved_payees(self, customer_id: str) -> list[SavedPayee]:
        with self._read() as session:
            self._customer(session, customer_id)
            rows = session.scalars(
                select(PayeeRow).where(PayeeRow.customer_id == customer_id).order_by(PayeeRow.payee_id)
            )
            return [
                SavedPayee(
                    payee_id=p.payee_id,
                    name=p.name,
                    account_number=p.account_number,
                    bank=p.bank,
                    same_bank=p.same_bank,
                )
                for p in rows
            ]

    def validate_payee(
        self, account_number: str, name: str, bank: str | None = None, payer_account: str | None = None
    ) -> PayeeCheck:
        """Does the account exist at ``bank`` (default: this bank), and does ``name`` match its holder?

        ``own_account`` can only be known from the payer: pass ``payer_account`` (an extension of
        the port's signature; without it ``own_account`` is False).
        """
        resolved = resolve_bank(bank)
        with self._read() as session:
            if resolved is None:
                return PayeeCheck(
                    account_number=account_number,
                    bank=bank or "",
                    exists=False,
                    name_matches=False,
                    same_bank=False,
                    own_account=False,
                    holder_masked_name=None,
                )
            if resolved is SANDBOX_BANK:
                account = session.get(AccountRow, account_number)
                if account is None:
                    card = session.get(CardRow, account_number)
                    if card is not None and card.status != "replaced":
                        account = session.get(AccountRow, card.account_number)
                holder = None
                if account is not None and account.kind == "customer" and account.customer_id is not None:
                    holder = session.get(CustomerRow, account.customer_id)
                own = False
                if holder is not None and payer_account is not None:
                    payer = session.get(AccountRow, payer_account)
                    own = payer is not None and payer.customer_id == holder.customer_id
                return PayeeCheck(
                    account_number=account_number,
                    bank=resolved.name_zh,
                    exists=holder is not None,
                    name_matches=holder is not None and names_match(name, holder.name),
                    same_bank=True,
                    own_account=own,
                    holder_masked_name=None if holder is None else mask_name(holder.name),
                )
            external = session.scalar(
                select(ExternalAccountRow).where(
                    ExternalAccountRow.bank == resolved.name_zh,
                    ExternalAccountRow.account_number == account_number,
                )
            )
            return PayeeCheck(
                account_number=account_number,
                bank=resolved.name_zh,
                exists=external is not None,
                name_matches=external is not None and names_match(name, external.holder_name),
                same_bank=False,
                own_account=False,
                holder_masked_name=None if external is None else mask_name(external.holder_name),
            )

    # Usage and history ------------------------------------------------------------------------
    def daily_usage(self, customer_id: str, channel: Channel, day: date) -> DailyUsage:
        """Outgoing transfers to others accepted on ``day`` through ``channel``, delayed ones included.

        Revoked and rejected transfers do not count, nor do moves between the customer's own accounts
        (limits protect money leaving the customer).
        """
        channel = Channel(channel)
        lo, hi = self._day_bounds(day, day)
        with self._read() as session:
            self._customer(session, customer_id)
            total, count = session.execute(
                select(
                    func.coalesce(func.sum(TransferRow.amount_fen), 0), func.count(TransferRow.reference)
                ).where(
                    TransferRow.customer_id == customer_id,
                    TransferRow.channel == channel.value,
                    TransferRow.own_transfer.is_(False),
                    TransferRow.status.in_([TransferStatus.POSTED.value, TransferStatus.DELAYED.value]),
                    TransferRow.accepted_at >= lo,
                    TransferRow.accepted_at < hi,
                )
            ).one()
        return DailyUsage(
            customer_id=customer_id,
            channel=channel,
            day=day,
            transferred=from_fen(int(total)),
            transfer_count=int(count),
        )

    def _check_period(self, start: date, end: date) -> None:
        if end < start:
            raise InvalidRequest("the period ends before it starts", field="end")
        if (end - start).days >= self.policy.max_period_days:
            raise InvalidRequest(f"a period covers at most {self.policy.max_period_days} days", field="end",
                                 max_days=self.policy.max_period_days)

    @staticmethod
    def _postings_between(session: Session, account_number: str, lo: datetime, hi: datetime) -> Sequence[PostingRow]:
        """The account's postings booked in ``[lo, hi)``, oldest first (history and statements)."""
        return session.scalars(
            select(PostingRow)
            .where(PostingRow.account_number == account_number, PostingRow.booked_at >= lo,
                   PostingRow.booked_at < hi)
            .order_by(PostingRow.booked_at, PostingRow.posting_id)
        ).all()

    def history(self, account_number: str, start: date, end: date) -> list[Posting]:
        """Postings booked on ``start`` .. ``end`` (inclusive, bank days), oldest first."""
        self._check_period(start, end)
        lo, hi = self._day_bounds(start, end)
        with self._read() as session:
            self._customer_account(session, account_number)
            rows = self._postings_between(session, account_number, lo, hi)
        return [
            Posting(
                posting_id=r.posting_id,
                account_number=r.account_number,
                booked_at=r.booked_at,
                description=r.description,
                counterparty=r.counterparty,
                amount=from_fen(r.amount_fen),
                balance_after=from_fen(r.balance_after_fen or 0),
                reference=r.reference,
            )
            for r in rows
        ]

    def statement(self, account_number: str, start: date, end: date) -> StatementDocument:
        """A PDF statement of ``start`` .. ``end``; the end may not lie in the future."""
        self._check_period(start, end)
        if end > self._today():
            raise InvalidRequest("a statement cannot end in the future", field="end")
        lo, hi = self._day_bounds(start, end)
        with self._read() as session:
            account = self._customer_account(session, account_number)
            assert account.customer_id is not None
            customer = self._customer(session, account.customer_id)
            opening = session.scalar(
                select(func.coalesce(func.sum(PostingRow.amount_fen), 0)).where(
                    PostingRow.account_number == account_number, PostingRow.booked_at < lo
                )
            )
            rows = self._postings_between(session, account_number, lo, hi)
        zone = self.policy.zone
        spec = StatementSpec(
            bank_name=f"{SANDBOX_BANK.name_zh} {SANDBOX_BANK.name_en}",
            bank_code=SANDBOX_BANK.code,
            customer_masked=mask_name(customer.name),
            account_number=account_number,
            start=start,
            end=end,
            opening_fen=int(opening or 0),
            lines=[
                StatementLine(
                    posting_id=r.posting_id,
                    booked_on=r.booked_at.astimezone(zone).date(),
                    description=r.description,
                    counterparty=r.counterparty,
                    amount_fen=r.amount_fen,
                )
                for r in rows
            ],
            generated_at=self._now().astimezone(zone),
        )
        return render_statement(spec)

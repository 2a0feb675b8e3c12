"""Transfers of the sandbox bank: acceptance, delayed settlement, revocation, status by key.

Routing (the compliance gate upstream has already decided whether the request is allowed):

* between the customer's own accounts at this bank: posted at once, whatever ``arrival`` says;
* to anyone else with ``Arrival.REALTIME`` (or a policy delay of 0 hours): posted at once;
* otherwise delayed: the payer is debited into the clearing account at acceptance and the
  transfer settles at ``execute_at`` (:meth:`_TransferOps.settle_due`), revocable until then.

A transfer to an account at another bank that this bank does not know is accepted (the other
bank decides): a real-time one is rejected straight away with no money moved, a delayed one is
returned to the payer at settlement (status ``rejected``, reason ``payee_account_unknown``).

Idempotency: the transfer row carries the key (UNIQUE) and a hash of the request. A repeat with
the same request returns that transfer in its current state; a different request raises
:class:`IdempotencyConflict`. Business errors (insufficient funds, unknown payee, name mismatch)
are raised and record nothing, so the same call may be repeated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vtm.banking.errors import (
    CardBlocked,
    IdempotencyConflict,
    InvalidRequest,
    NotFound,
    NotRevocable,
    PayeeMismatch,
)
from vtm.banking.models import (
    Arrival,
    CardStatus,
    RevokeResult,
    TransferRequest,
    TransferResult,
    TransferStatus,
    from_fen,
    to_fen,
)
from vtm.banking.sandbox._base import _BankBase, names_match, new_reference, request_hash
from vtm.banking.sandbox.banks import SANDBOX_BANK, resolve_bank
from vtm.banking.sandbox.ledger import CLEARING, INTERBANK, Leg, post_entry
from vtm.banking.sandbox.schema import AccountRow, CardRow, CustomerRow, ExternalAccountRow, TransferRow

__all__ = ["Destination"]

OUT = "转账汇出 Transfer out"
IN = "转账汇入 Transfer in"
OWN = "本人账户互转 Own-account transfer"
IN_TRANSIT = "延时转账在途 Delayed transfer in transit"
REFUND = "延时转账退回 Delayed transfer returned"
REVOKED = "延时转账撤销 Delayed transfer revoked"


@dataclass(frozen=True)
class Destination:
    bank: str
    credit_account: str | None  # the sandbox account credited, or INTERBANK, or None (unknown at other bank)
    own: bool


def _counterparty(name: str, account: str) -> str:
    return f"{name} {account}"


class _TransferOps(_BankBase):
    def _resolve_internal(self, session: Session, number: str) -> AccountRow | None:
        """An account of this bank by account number or by the number of one of its cards."""
        account = session.get(AccountRow, number)
        if account is None:
            card = session.get(CardRow, number)
            if card is not None and card.status != CardStatus.REPLACED.value:
                account = session.get(AccountRow, card.account_number)
        return account if account is not None and account.kind == "customer" else None

    def _destination(self, session: Session, request: TransferRequest, payer: AccountRow) -> Destination:
        bank = resolve_bank(request.payee_bank)
        if bank is None:
            raise InvalidRequest("unknown payee bank", field="payee_bank")
        if bank is SANDBOX_BANK:
            account = self._resolve_internal(session, request.to_account)
            if account is None:
                raise NotFound("no such payee account at this bank", account=request.to_account[-4:])
            if account.account_number == payer.account_number:
                raise InvalidRequest("payer and payee are the same account", field="to_account")
            holder = session.get(CustomerRow, account.customer_id)
            if holder is None or not names_match(request.payee_name, holder.name):
                raise PayeeMismatch("payee name does not match the account holder")
            return Destination(bank.name_zh, account.account_number, account.customer_id == payer.customer_id)
        external = session.scalar(
            select(ExternalAccountRow).where(
                ExternalAccountRow.bank == bank.name_zh,
                ExternalAccountRow.account_number == request.to_account,
            )
        )
        if external is not None and not names_match(request.payee_name, external.holder_name):
            raise PayeeMismatch("payee name does not match the account holder")
        return Destination(bank.name_zh, INTERBANK if external is not None else None, False)

    def _check_payer_can_pay(self, session: Session, payer: AccountRow, now: datetime) -> None:
        """Payment stops once every card on the account is blocked (lost, frozen, replaced)."""
        cards = session.scalars(select(CardRow).where(CardRow.account_number == payer.account_number)).all()
        if cards and all(self._effective_status(card, now) is not CardStatus.ACTIVE for card in cards):
            raise CardBlocked("payments from this account are stopped", reason="account_cards_blocked")

    @staticmethod
    def _result(row: TransferRow) -> TransferResult:
        return TransferResult(
            idempotency_key=row.idempotency_key,
            reference=row.reference,
            status=TransferStatus(row.status),
            amount=from_fen(row.amount_fen),
            from_account=row.from_account,
            to_account=row.to_account,
            accepted_at=row.accepted_at,
            execute_at=row.execute_at,
            reason=row.reason,
        )

    @classmethod
    def _replay_transfer(cls, session: Session, key: str, digest: str) -> TransferResult | None:
        row = session.scalar(select(TransferRow).where(TransferRow.idempotency_key == key))
        if row is None:
            return None
        if row.request_hash != digest:
            raise IdempotencyConflict("idempotency key reused with different parameters", key=key)
        return cls._result(row)

    # Public operations --------------------------------------------------------------------
    def transfer(self, request: TransferRequest) -> TransferResult:
        """Post, or accept as delayed, one transfer; idempotent by ``request.idempotency_key``."""
        digest = request_hash("transfer", request.model_dump(mode="json"))
        try:
            with self._write() as session:
                previous = self._replay_transfer(session, request.idempotency_key, digest)
                if previous is not None:
                    return previous
                return self._accept(session, request, digest)
        except IntegrityError:
            with self._read() as session:
                previous = self._replay_transfer(session, request.idempotency_key, digest)
            if previous is None:
                raise
            return previous

    def _accept(self, session: Session, request: TransferRequest, digest: str) -> TransferResult:
        now = self._now()
        payer = self._customer_account(session, request.from_account)
        assert payer.customer_id is not None  # customer accounts always have an owner
        payer_name = self._customer(session, payer.customer_id).name
        self._check_payer_can_pay(session, payer, now)
        dest = self._destination(session, request, payer)
        amount = to_fen(request.amount)
        immediate = dest.own or request.arrival is Arrival.REALTIME or self.policy.delayed_transfer_hours == 0
        if not immediate:
            status, execute_at = TransferStatus.DELAYED, now + self.policy.transfer_delay
        elif dest.credit_account is None:
            status, execute_at = TransferStatus.REJECTED, None
        else:
            status, execute_at = TransferStatus.POSTED, None
        row = TransferRow(
            reference=new_reference("TR", now),
            idempotency_key=request.idempotency_key,
            request_hash=digest,
            customer_id=payer.customer_id,
            from_account=payer.account_number,
            to_account=request.to_account,
            to_bank=dest.bank,
            credit_account=dest.credit_account,
            payee_name=request.payee_name,
            amount_fen=amount,
            arrival=request.arrival.value,
            channel=request.channel.value,
            own_transfer=dest.own,
            status=status.value,
            memo=request.memo,
            accepted_at=now,
            execute_at=execute_at,
            finished_at=None if status is TransferStatus.DELAYED else now,
            reason="payee_account_unknown" if status is TransferStatus.REJECTED else None,
        )
        # Claim the key first: a concurrent duplicate fails here, before any money moves.
        session.add(row)
        session.flush()
        out = Leg(
            payer.account_number,
            -amount,
            OWN if dest.own else f"{OUT} {request.memo}".strip(),
            _counterparty(request.payee_name, request.to_account),
        )
        if status is TransferStatus.POSTED:
            assert dest.credit_account is not None
            back = OWN if dest.own else f"{IN} {request.memo}".strip()
            credit = Leg(dest.credit_account, amount, back, _counterparty(payer_name, payer.account_number))
            post_entry(session, row.reference, [out, credit], now)
        elif status is TransferStatus.DELAYED:
            post_entry(session, row.reference, [out, Leg(CLEARING, amount, IN_TRANSIT, row.reference)], now)
        return self._result(row)

    def transfer_status(self, idempotency_key: str) -> TransferResult | None:
        """The transfer made under this key, in its current state; None if the bank never saw it."""
        with self._read() as session:
            row = session.scalar(select(TransferRow).where(TransferRow.idempotency_key == idempotency_key))
            return None if row is None else self._result(row)

    def pending_transfers(self, customer_id: str) -> list[TransferResult]:
        """Delayed transfers of ``customer_id`` whose ``execute_at`` is still ahead, oldest first."""
        now = self._now()
        with self._read() as session:
            self._customer(session, customer_id)
            rows = session.scalars(
                select(TransferRow)
                .where(TransferRow.customer_id == customer_id, TransferRow.status == TransferStatus.DELAYED.value,
                       TransferRow.execute_at > now)
                .order_by(TransferRow.accepted_at, TransferRow.reference)
            ).all()
            return [self._result(row) for row in rows]

    def revoke_transfer(self, reference: str, idempotency_key: str) -> RevokeResult:
        """Cancel a delayed transfer before ``execute_at`` and refund the payer in full."""

        def action(session: Session, now: datetime) -> RevokeResult:
            row = session.scalar(
                select(TransferRow).where(TransferRow.reference == reference).with_for_update()
            )
            if row is None:
                raise NotFound("no such transfer", reference=reference)
            if row.status != TransferStatus.DELAYED.value:
                raise NotRevocable(f"the transfer is {row.status}", status=row.status)
            assert row.execute_at is not None
            if now >= row.execute_at:
                raise NotRevocable("the revocation window has passed", status=row.status)
            post_entry(
                session,
                f"{row.reference}-R",
                [
                    Leg(CLEARING, -row.amount_fen, REVOKED, row.reference),
                    Leg(
                        row.from_account,
                        row.amount_fen,
                        REVOKED,
                        _counterparty(row.payee_name, row.to_account),
                    ),
                ],
                now,
            )
            row.status, row.finished_at = TransferStatus.REVOKED.value, now
            return RevokeResult(
                reference=row.reference, status=TransferStatus.REVOKED, refunded=from_fen(row.amount_fen)
            )

        return self._keyed("revoke_transfer", idempotency_key, {"reference": reference}, RevokeResult, action)

    def settle_due(self) -> int:
        """Settle every delayed transfer whose ``execute_at`` has passed; returns how many were settled.

        One short transaction per transfer; on PostgreSQL ``SKIP LOCKED`` lets several settlers
        (or a settler and a revoke) work side by side without waiting on each other.
        """
        now = self._now()
        settled = 0
        while True:
            with self._write() as session:
                row = session.scalar(
                    select(TransferRow)
                    .where(TransferRow.status == TransferStatus.DELAYED.value, TransferRow.execute_at <= now)
                    .order_by(TransferRow.execute_at, TransferRow.reference)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
                if row is None:
                    return settled
                self._settle(session, row, now)
            settled += 1

    def _settle(self, session: Session, row: TransferRow, now: datetime) -> None:
        credit = row.credit_account
        if credit is None:
            # The other bank may have learnt of the account since acceptance.
            known = session.scalar(
                select(ExternalAccountRow.id).where(
                    ExternalAccountRow.bank == row.to_bank,
                    ExternalAccountRow.account_number == row.to_account,
                )
            )
            credit = INTERBANK if known is not None else None
        reference = f"{row.reference}-S"
        if credit is None:
            post_entry(
                session,
                reference,
                [
                    Leg(CLEARING, -row.amount_fen, REFUND, row.reference),
                    Leg(
                        row.from_account,
                        row.amount_fen,
                        REFUND,
                        _counterparty(row.payee_name, row.to_account),
                    ),
                ],
                now,
            )
            row.status, row.reason = TransferStatus.REJECTED.value, "payee_account_unknown"
        else:
            payer = session.get(CustomerRow, row.customer_id)
            payer_name = payer.name if payer is not None else ""
            post_entry(
                session,
                reference,
                [
                    Leg(CLEARING, -row.amount_fen, IN_TRANSIT, row.reference),
                    Leg(
                        credit,
                        row.amount_fen,
                        f"{IN} {row.memo}".strip(),
                        _counterparty(payer_name, row.from_account),
                    ),
                ],
                now,
            )
            row.status = TransferStatus.POSTED.value
        row.finished_at = now

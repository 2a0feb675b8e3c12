"""The CoreBanking port: what the kiosk needs from a bank's core system.

Two implementations honour it: :class:`vtm.banking.sandbox.SandboxBank` on a real database and
:class:`vtm.banking.http_client.HttpCoreBanking` over the sandbox's HTTP API. The same contract
tests run against both (``tests/integration/test_core_contract.py``).

Rules every implementation keeps:

* Money movements, card-status changes and PIN changes take an ``idempotency_key``; repeating a
  call with the same key returns the first result and changes nothing. The same key with
  different parameters raises :class:`~vtm.banking.errors.IdempotencyConflict`.
* When the outcome of a call is unknown (:class:`~vtm.banking.errors.OutcomeUnknown`), the
  caller asks :meth:`CoreBanking.transfer_status` (or repeats the keyed call) before anything
  else; it never re-posts with a new key.
* Errors are :class:`~vtm.banking.errors.CoreBankingError` subclasses that say whether a retry
  is safe. PINs are checked by the core and never returned.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol, runtime_checkable

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

__all__ = ["CoreBanking"]


@runtime_checkable
class CoreBanking(Protocol):
    # Identity ------------------------------------------------------------------------------
    def authenticate_card(self, card_number: str, pin: str) -> AuthResult:
        """Check card + PIN. Wrong PIN -> AuthenticationFailed(attempts_left); locked -> CardBlocked."""
        ...

    def verify_identity(self, id_number: str, face_score: float | None = None) -> IdentityResult:
        """Look up the holder of a resident ID; with a face score, say whether it passes the bank's bar."""
        ...

    def customer(self, customer_id: str) -> Customer:
        """The customer's record on file (name, phone, email for statements, date of birth)."""
        ...

    # Cards ---------------------------------------------------------------------------------
    def card_status(self, card_number: str) -> CardInfo: ...

    def cards_of_customer(self, customer_id: str) -> list[CardInfo]: ...

    def report_loss(self, card_number: str, kind: LossKind, idempotency_key: str) -> LossReport:
        """Temporary or formal loss report; payment stops at once (the card is blocked)."""
        ...

    def freeze_card(self, card_number: str, idempotency_key: str) -> CardInfo: ...

    def order_replacement(self, card_number: str, idempotency_key: str) -> Replacement:
        """Issue a new card number for a card reported lost; the old card becomes ``replaced``."""
        ...

    def change_pin(self, card_number: str, current_pin: str, new_pin: str, idempotency_key: str) -> PinChange:
        """Replace the card's PIN. The current PIN is checked first and a wrong one counts toward the
        lockout exactly as in :meth:`authenticate_card` (AuthenticationFailed / CardBlocked); then a
        weak new PIN, or one equal to the current PIN, raises WeakPin. Success resets the failed
        attempts. A repeated key replays the first result without checking either PIN again."""
        ...

    # Accounts ------------------------------------------------------------------------------
    def list_accounts(self, customer_id: str) -> list[Account]: ...

    def balance(self, account_number: str) -> Balance: ...

    def saved_payees(self, customer_id: str) -> list[SavedPayee]: ...

    def validate_payee(self, account_number: str, name: str, bank: str | None = None) -> PayeeCheck:
        """Does the account exist, at which bank, and does ``name`` match its holder?"""
        ...

    # Money ---------------------------------------------------------------------------------
    def transfer(self, request: TransferRequest) -> TransferResult:
        """Post (own or same-bank realtime) or accept as delayed; idempotent by key."""
        ...

    def transfer_status(self, idempotency_key: str) -> TransferResult | None:
        """The result of a keyed transfer, or None if the core never saw it."""
        ...

    def pending_transfers(self, customer_id: str) -> list[TransferResult]:
        """The customer's delayed transfers that have not executed yet (still revocable), oldest first."""
        ...

    def revoke_transfer(self, reference: str, idempotency_key: str) -> RevokeResult:
        """Cancel a delayed transfer before it settles; NotRevocable afterwards."""
        ...

    def daily_usage(self, customer_id: str, channel: Channel, day: date) -> DailyUsage: ...

    # Records -------------------------------------------------------------------------------
    def history(self, account_number: str, start: date, end: date) -> list[Posting]: ...

    def statement(self, account_number: str, start: date, end: date) -> StatementDocument:
        """A PDF statement with opening/closing balance, every posting and a verification code."""
        ...

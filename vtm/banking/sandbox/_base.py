"""Shared machinery of the sandbox bank: sessions, the clock, idempotent keyed operations, lookups.

Every public operation runs in one short transaction. Writes go through :meth:`_BankBase._write`
(on SQLite a ``BEGIN IMMEDIATE`` transaction); reads through :meth:`_BankBase._read`.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vtm.banking.errors import CoreBankingError, IdempotencyConflict, InvalidRequest, NotFound
from vtm.banking.models import CardInfo, CardStatus
from vtm.banking.sandbox.engine import WRITE
from vtm.banking.sandbox.policy import SandboxPolicy
from vtm.banking.sandbox.schema import AccountRow, CardRow, CustomerRow, OperationRow
from vtm.common.checksums import luhn_valid

__all__ = ["Clock", "RefuseAfterCommit", "names_match", "new_reference", "request_hash"]

Clock = Callable[[], datetime]
M = TypeVar("M", bound=BaseModel)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def request_hash(operation: str, params: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of an operation and its parameters (idempotency check)."""
    canonical = json.dumps(
        {"op": operation, "params": params},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class RefuseAfterCommit(Exception):
    """Raised by a keyed action to refuse the call *and* keep what it changed (a wrong PIN counts).

    :meth:`_BankBase._keyed` commits the transaction, records nothing under the key (the same
    call may be repeated), then raises ``error``.
    """

    def __init__(self, error: CoreBankingError) -> None:
        super().__init__(error.message)
        self.error = error


def new_reference(prefix: str, now: datetime) -> str:
    """A unique, readable reference: prefix, UTC date, ten random hex digits (e.g. TR20250101A1B2C3D4E5)."""
    return f"{prefix}{now:%Y%m%d}{secrets.token_hex(5).upper()}"


_CJK = re.compile(r"[\u4e00-\u9fff]")


def _name_key(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


_PINYIN_MATCH = 95.0  # token-sort ratio of toneless syllables: Liu Yang = 刘洋, Yang Liu = 刘洋, Liu Yan != 刘洋


def names_match(spoken: str, holder: str) -> bool:
    """Does the name the customer gave match the account holder's?

    Exact after width, case and whitespace folding; or, for a Chinese holder named in Latin letters
    (a pinyin name: "Liu Yang" or "Yang Liu" for 刘洋), the same toneless syllables in either order,
    compared strictly (one syllable off, Liu Yan, is not a match: a name check guards money).
    """
    if not spoken.strip():
        return False
    if _name_key(spoken) == _name_key(holder):
        return True
    if not _CJK.search(holder) or _CJK.search(spoken):
        return False
    from pypinyin import lazy_pinyin
    from rapidfuzz import fuzz

    syllables = " ".join(lazy_pinyin(unicodedata.normalize("NFKC", holder).replace(" ", "")))
    said = " ".join(re.findall(r"[a-z]+", unicodedata.normalize("NFKC", spoken).casefold()))
    if said.replace(" ", "") == syllables.replace(" ", ""):
        return True  # "Lina" for 李娜: the syllables run together
    return fuzz.token_sort_ratio(said, syllables) >= _PINYIN_MATCH


class _BankBase:
    """State and helpers every operation group of :class:`SandboxBank` uses."""

    def __init__(
        self, engine: Engine, clock: Clock | None = None, policy: SandboxPolicy | None = None
    ) -> None:
        self._engine = engine
        self._write_engine = engine.execution_options(**{WRITE: True})
        self._clock: Clock = clock or _utc_now
        self.policy = policy or SandboxPolicy()

    # Time ---------------------------------------------------------------------------------
    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the bank's clock must return an aware datetime")
        return now.astimezone(UTC)

    def _today(self) -> date:
        return self._now().astimezone(self.policy.zone).date()

    def _day_bounds(self, start: date, end: date) -> tuple[datetime, datetime]:
        """UTC instants of the bank-local start of ``start`` and of the day after ``end``."""
        zone = self.policy.zone
        try:
            lo = datetime.combine(start, time(), tzinfo=zone).astimezone(UTC)
            hi = datetime.combine(end + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
        except OverflowError as exc:  # days at the ends of the calendar (0001-01-01, 9999-12-31)
            raise InvalidRequest("the day lies outside the bank's calendar", field="end") from exc
        return lo, hi

    # Sessions -----------------------------------------------------------------------------
    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with Session(self._write_engine, expire_on_commit=False) as session, session.begin():
            yield session

    # Idempotent keyed operations ------------------------------------------------------------
    @staticmethod
    def _check_key(key: str) -> None:
        if not 8 <= len(key) <= 80:
            raise InvalidRequest("an idempotency key has 8 to 80 characters", field="idempotency_key")

    @staticmethod
    def _replay(session: Session, key: str, operation: str, digest: str, model: type[M]) -> M | None:
        row = session.get(OperationRow, key)
        if row is None:
            return None
        if row.operation != operation or row.request_hash != digest:
            raise IdempotencyConflict("idempotency key reused with different parameters", key=key)
        return model.model_validate_json(row.result_json)

    def _keyed(
        self,
        operation: str,
        key: str,
        params: dict[str, Any],
        model: type[M],
        action: Callable[[Session, datetime], M],
    ) -> M:
        """Run ``action`` once per key; a repeat with the same parameters returns the stored result.

        An error the action raises rolls everything back, except :class:`RefuseAfterCommit`, whose
        changes are committed before its error is raised. Either way nothing is kept under the key.
        """
        self._check_key(key)
        digest = request_hash(operation, params)
        try:
            with self._write() as session:
                previous = self._replay(session, key, operation, digest, model)
                if previous is not None:
                    return previous
                now = self._now()
                try:
                    result = action(session, now)
                except RefuseAfterCommit as refusal:
                    refused = refusal.error  # leave the block normally, so that its changes commit
                else:
                    session.add(
                        OperationRow(
                            idempotency_key=key,
                            operation=operation,
                            request_hash=digest,
                            result_json=result.model_dump_json(),
                            created_at=now,
                        )
                    )
                    return result
        except IntegrityError:
            # Another process committed the same key between our check and our insert.
            with self._read() as session:
                previous = self._replay(session, key, operation, digest, model)
            if previous is None:
                raise
            return previous
        raise refused

    # Lookups ------------------------------------------------------------------------------
    @staticmethod
    def _check_card_number(card_number: str) -> None:
        if not (16 <= len(card_number) <= 19 and luhn_valid(card_number)):
            raise InvalidRequest("not a valid card number", field="card_number")

    def _card(self, session: Session, card_number: str, *, lock: bool = False) -> CardRow:
        self._check_card_number(card_number)
        stmt = select(CardRow).where(CardRow.card_number == card_number)
        if lock:
            stmt = stmt.with_for_update()
        card = session.scalar(stmt)
        if card is None:
            raise NotFound("no such card", card=card_number[-4:])
        return card

    @staticmethod
    def _customer(session: Session, customer_id: str) -> CustomerRow:
        customer = session.get(CustomerRow, customer_id)
        if customer is None:
            raise NotFound("no such customer", customer_id=customer_id)
        return customer

    @staticmethod
    def _customer_account(session: Session, account_number: str) -> AccountRow:
        account = session.get(AccountRow, account_number)
        if account is None or account.kind != "customer":
            raise NotFound("no such account", account=account_number[-4:])
        return account

    # Card state -----------------------------------------------------------------------------
    def _effective_status(self, card: CardRow, now: datetime) -> CardStatus:
        """The status as of ``now``: a temporary loss report past its expiry has lapsed to active."""
        status = CardStatus(card.status)
        if (
            status is CardStatus.TEMPORARILY_LOST
            and card.loss_expires_at is not None
            and card.loss_expires_at <= now
        ):
            return CardStatus.ACTIVE
        return status

    def _card_info(self, card: CardRow, now: datetime) -> CardInfo:
        status = self._effective_status(card, now)
        return CardInfo(
            card_number=card.card_number,
            customer_id=card.customer_id,
            status=status,
            pin_locked=card.failed_pin_attempts >= self.policy.pin_max_attempts,
            failed_pin_attempts=card.failed_pin_attempts,
            loss_expires_at=card.loss_expires_at if status is CardStatus.TEMPORARILY_LOST else None,
            account_number=card.account_number,
        )

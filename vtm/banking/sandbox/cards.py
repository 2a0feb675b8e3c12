"""Identity and card operations of the sandbox bank: PIN check with lockout, PIN change, ID + face
check, card status, loss reports (temporary and formal), freeze and replacement.

Card-status rules (configurable in :class:`~vtm.banking.sandbox.policy.SandboxPolicy`):

* a temporary report blocks the card and lapses after ``temporary_loss_days`` (computed lazily:
  the stored status stays ``temporarily_lost``, every read reports ``active`` once expired);
* a formal report blocks the card for good; a replacement can be ordered
  ``replacement_wait_days`` later (0: the kiosk issues it on the spot);
* a replacement keeps the account and the PIN hash, and the old number becomes ``replaced``;
* ``pin_max_attempts`` wrong PINs in a row lock the card; the attempt that reaches the limit
  raises :class:`CardBlocked` (reason ``pin_locked``), earlier ones :class:`AuthenticationFailed`.
  A PIN change checks the current PIN the same way, through the same code (:meth:`_check_pin`);
* a PIN change refuses a weak new PIN itself (:mod:`vtm.banking.pin_rules`, with the birth date on
  file), whatever the kiosk checked before: :class:`WeakPin`.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vtm.banking.errors import (
    AuthenticationFailed,
    CardBlocked,
    CoreBankingError,
    InvalidRequest,
    NotFound,
    WeakPin,
)
from vtm.banking.models import (
    AuthResult,
    CardInfo,
    CardStatus,
    Customer,
    IdentityResult,
    LossKind,
    LossReport,
    PinChange,
    Replacement,
)
from vtm.banking.pin_rules import new_pin_weaknesses
from vtm.banking.sandbox._base import RefuseAfterCommit, _BankBase, new_reference
from vtm.banking.sandbox.pins import PinHasher, valid_pin_format
from vtm.banking.sandbox.schema import CardRow, CustomerRow
from vtm.common.checksums import gb11643_valid, luhn_check_digit

__all__ = ["ELDERLY_AGE", "age_on"]

ELDERLY_AGE = 65


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


class _CardOps(_BankBase):
    # Identity ------------------------------------------------------------------------------
    def authenticate_card(self, card_number: str, pin: str) -> AuthResult:
        """Check card + PIN; a wrong PIN counts towards the lockout, a right one resets the count."""
        if not valid_pin_format(pin):
            raise InvalidRequest("a PIN is six digits", field="pin")
        hasher = PinHasher.from_policy(self.policy)
        with self._write() as session:
            card = self._card(session, card_number, lock=True)
            failure = self._check_pin(hasher, card, pin, self._now())
            if failure is None:
                customer = self._customer(session, card.customer_id)
                result = AuthResult(
                    customer_id=customer.customer_id,
                    customer_name=customer.name,
                    card_number=card.card_number,
                    card_status=CardStatus.ACTIVE,
                    elderly=age_on(customer.birth_date, self._today()) >= ELDERLY_AGE,
                    birth_date=customer.birth_date,
                )
        # Raised after the commit: the failed attempt must count even though we refuse.
        if failure is not None:
            raise failure
        return result

    def _check_pin(self, hasher: PinHasher, card: CardRow, pin: str, now: datetime) -> CoreBankingError | None:
        """Check ``pin`` on a card row locked for update; a wrong one counts, a right one resets the count.

        Raises :class:`CardBlocked` when the card may not be used at all. A wrong PIN is *returned*:
        the caller commits the counted attempt first and raises it afterwards.
        """
        status = self._effective_status(card, now)
        if status is not CardStatus.ACTIVE:
            raise CardBlocked("card is blocked", reason=status.value)
        limit = self.policy.pin_max_attempts
        if card.failed_pin_attempts >= limit:
            raise CardBlocked("card is locked after too many wrong PINs", reason="pin_locked")
        if hasher.verify(card.pin_hash, pin):
            card.failed_pin_attempts = 0
            return None
        card.failed_pin_attempts += 1
        left = limit - card.failed_pin_attempts
        if left <= 0:
            return CardBlocked("wrong PIN; the card is now locked", reason="pin_locked", attempts_left=0)
        return AuthenticationFailed("wrong PIN", attempts_left=left)

    def change_pin(self, card_number: str, current_pin: str, new_pin: str, idempotency_key: str) -> PinChange:
        """Replace the card's PIN hash after checking the current PIN; idempotent by key.

        The order is deliberate. A repeated key replays its first result before any PIN is checked
        (the PIN has changed since: checking it again would count a wrong attempt). The current PIN
        is checked, and a wrong one counted, before the new one is judged, so that a caller without
        it learns nothing (such as the holder's birth date) from a ``weak_pin`` answer.
        """
        for field, pin in (("current_pin", current_pin), ("new_pin", new_pin)):
            if not valid_pin_format(pin):
                raise InvalidRequest("a PIN is six digits", field=field)
        self._check_key(idempotency_key)
        hasher = PinHasher.from_policy(self.policy)

        def action(session: Session, now: datetime) -> PinChange:
            card = self._card(session, card_number, lock=True)
            failure = self._check_pin(hasher, card, current_pin, now)
            if failure is not None:
                raise RefuseAfterCommit(failure)
            born = self._customer(session, card.customer_id).birth_date
            weaknesses = new_pin_weaknesses(current_pin, new_pin, born)
            if weaknesses:
                raise WeakPin.naming(weaknesses)  # rolls back: nothing changes, not even the count
            card.pin_hash = hasher.hash(new_pin)
            return PinChange(reference=new_reference("PC", now), card_number=card.card_number, changed_at=now)

        # The PINs enter the idempotency hash only through a slow digest (see PinHasher.request_digest).
        params = {
            "card_number": card_number,
            "pins": hasher.request_digest(idempotency_key, current_pin, new_pin),
        }
        return self._keyed("change_pin", idempotency_key, params, PinChange, action)

    def verify_identity(self, id_number: str, face_score: float | None = None) -> IdentityResult:
        """Find the holder of a resident ID; ``face_matched`` says whether the score passes the bar."""
        if not gb11643_valid(id_number):
            raise InvalidRequest("not a valid resident ID number", field="id_number")
        if face_score is not None and not 0.0 <= face_score <= 1.0:
            raise InvalidRequest("a face score lies between 0 and 1", field="face_score")
        with self._read() as session:
            customer = session.scalar(select(CustomerRow).where(CustomerRow.id_number == id_number.upper()))
            if customer is None:
                raise NotFound("no customer with this ID number")
            return IdentityResult(
                customer_id=customer.customer_id,
                customer_name=customer.name,
                id_number=customer.id_number,
                face_matched=None if face_score is None else face_score >= self.policy.face_match_threshold,
            )

    def customer(self, customer_id: str) -> Customer:
        with self._read() as session:
            row = self._customer(session, customer_id)
            return Customer(customer_id=row.customer_id, name=row.name, id_number=row.id_number, phone=row.phone,
                            email=row.email, birth_date=row.birth_date, language=row.language)

    # Cards ---------------------------------------------------------------------------------
    def card_status(self, card_number: str) -> CardInfo:
        with self._read() as session:
            return self._card_info(self._card(session, card_number), self._now())

    def cards_of_customer(self, customer_id: str) -> list[CardInfo]:
        with self._read() as session:
            self._customer(session, customer_id)
            cards = session.scalars(
                select(CardRow)
                .where(CardRow.customer_id == customer_id)
                .order_by(CardRow.issued_at, CardRow.card_number)
            )
            now = self._now()
            return [self._card_info(card, now) for card in cards]

    def report_loss(self, card_number: str, kind: LossKind, idempotency_key: str) -> LossReport:
        """Block the card at once; temporary reports lapse, formal ones open the way to a new card."""
        kind = LossKind(kind)

        def action(session: Session, now: datetime) -> LossReport:
            card = self._card(session, card_number, lock=True)
            status = self._effective_status(card, now)
            if status is CardStatus.REPLACED:
                raise CardBlocked("this card has been replaced", reason="replaced")
            if status is CardStatus.LOST:
                raise InvalidRequest("the card is already reported lost formally", reason="already_lost")
            if kind is LossKind.TEMPORARY and status is CardStatus.FROZEN:
                raise InvalidRequest("a frozen card needs a formal loss report", reason="frozen")
            card.loss_reported_at = now
            if kind is LossKind.TEMPORARY:
                card.status = CardStatus.TEMPORARILY_LOST.value
                card.loss_expires_at = now + self.policy.temporary_loss
                card.replacement_available_at = None
            else:
                card.status = CardStatus.LOST.value
                card.loss_expires_at = None
                card.replacement_available_at = now + self.policy.replacement_wait
            return LossReport(
                reference=new_reference("LS", now),
                card_number=card.card_number,
                kind=kind,
                status=CardStatus(card.status),
                accepted_at=now,
                expires_at=card.loss_expires_at,
                replacement_available_at=card.replacement_available_at,
            )

        params = {"card_number": card_number, "kind": kind.value}
        return self._keyed("report_loss", idempotency_key, params, LossReport, action)

    def freeze_card(self, card_number: str, idempotency_key: str) -> CardInfo:
        """Freeze an active or temporarily lost card (a frozen one stays frozen)."""

        def action(session: Session, now: datetime) -> CardInfo:
            card = self._card(session, card_number, lock=True)
            status = self._effective_status(card, now)
            if status in (CardStatus.LOST, CardStatus.REPLACED):
                raise InvalidRequest(f"a {status.value} card cannot be frozen", reason=status.value)
            card.status = CardStatus.FROZEN.value
            card.loss_expires_at = None
            return self._card_info(card, now)

        return self._keyed("freeze_card", idempotency_key, {"card_number": card_number}, CardInfo, action)

    def order_replacement(self, card_number: str, idempotency_key: str) -> Replacement:
        """Issue a new number on the same account with the same PIN; the old card becomes replaced."""

        def action(session: Session, now: datetime) -> Replacement:
            old = self._card(session, card_number, lock=True)
            status = self._effective_status(old, now)
            if status is CardStatus.REPLACED:
                raise CardBlocked("this card has already been replaced", reason="replaced")
            if status is not CardStatus.LOST:
                raise InvalidRequest(
                    "a replacement needs a formal loss report first", reason="formal_report_required"
                )
            if old.replacement_available_at is not None and now < old.replacement_available_at:
                raise InvalidRequest(
                    "the replacement is not available yet",
                    reason="replacement_wait",
                    available_at=old.replacement_available_at.isoformat(),
                )
            new_number = self._new_card_number(session, old.card_number)
            session.add(
                CardRow(
                    card_number=new_number,
                    customer_id=old.customer_id,
                    account_number=old.account_number,
                    status=CardStatus.ACTIVE.value,
                    pin_hash=old.pin_hash,
                    failed_pin_attempts=0,
                    issued_at=now,
                )
            )
            old.status = CardStatus.REPLACED.value
            old.replaced_by = new_number
            return Replacement(
                reference=new_reference("RP", now),
                old_card_number=old.card_number,
                new_card_number=new_number,
                ready_at=now,
            )

        params = {"card_number": card_number}
        return self._keyed("order_replacement", idempotency_key, params, Replacement, action)

    @staticmethod
    def _new_card_number(session: Session, like: str) -> str:
        """A fresh Luhn-valid number with the old card's BIN (first six digits) and length."""
        body_len = len(like) - 7
        for _ in range(100):
            payload = like[:6] + "".join(secrets.choice("0123456789") for _ in range(body_len))
            number = payload + luhn_check_digit(payload)
            if session.get(CardRow, number) is None:
                return number
        raise RuntimeError("could not find a free card number")  # pragma: no cover - 10**12 numbers

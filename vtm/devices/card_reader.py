"""Card reader: the customer's bank card goes in, comes back out, or is kept (retained).

:class:`CardReader` is what a real driver implements; :class:`SimulatedCardReader` adds the
customer's side (``insert``, ``take``) for the terminal simulator and tests. Every change is
recorded as a :class:`CardEvent` whose card number masks itself.

States::

    EMPTY --insert--> INSERTED --eject--> EJECTED --take--> EMPTY
                          \\                  /
                           +--retain--> RETAINED (the card is kept inside; the slot is free)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from vtm.common.masking import PII, PiiKind, mask_card
from vtm.devices._clock import Clock, utc_now
from vtm.devices.errors import CardSlotBusy, CardUnreadable, NoCard

__all__ = [
    "CardEvent",
    "CardEventKind",
    "CardReader",
    "CardReaderState",
    "RetainReason",
    "SimulatedCardReader",
]


class CardReaderState(StrEnum):
    EMPTY = "empty"
    INSERTED = "inserted"
    EJECTED = "ejected"  # in the slot mouth, waiting to be taken
    RETAINED = "retained"


class RetainReason(StrEnum):
    REPORTED_LOST = "reported_lost"
    NOT_TAKEN = "not_taken"  # ejected card left in the slot past the timeout
    BLOCKED = "blocked"  # the core bank says the card is locked or replaced
    SUSPECTED_FRAUD = "suspected_fraud"


class CardEventKind(StrEnum):
    INSERTED = "inserted"
    EJECTED = "ejected"
    TAKEN = "taken"
    RETAINED = "retained"


@dataclass(frozen=True, slots=True)
class CardEvent:
    """Something that happened to a card; safe to log (the number masks itself)."""

    kind: CardEventKind
    card: PII
    at: datetime
    reason: RetainReason | None = None


@runtime_checkable
class CardReader(Protocol):
    """The kiosk's side of a card reader."""

    @property
    def state(self) -> CardReaderState: ...

    def inserted(self) -> str | None:
        """The number of the card in the reader, or None when no card is in."""
        ...

    def eject(self) -> None:
        """Return the card to the customer (raises :class:`NoCard` when none is in)."""
        ...

    def retain(self, reason: RetainReason) -> None:
        """Keep the card inside (reported lost, blocked, left behind)."""
        ...

    def taken(self) -> bool:
        """True once the customer has removed the card last ejected."""
        ...


class SimulatedCardReader:
    """An in-memory card reader; ``insert`` and ``take`` are the customer's actions."""

    def __init__(self, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._state = CardReaderState.EMPTY
        self._card: str | None = None
        self._taken = False
        self.events: list[CardEvent] = []
        self.retained_cards: list[PII] = []

    @property
    def state(self) -> CardReaderState:
        return self._state

    def inserted(self) -> str | None:
        return self._card if self._state is CardReaderState.INSERTED else None

    def insert(self, card_number: str) -> None:
        if self._state in (CardReaderState.INSERTED, CardReaderState.EJECTED):
            raise CardSlotBusy("a card is already in the reader", state=self._state.value)
        if not (card_number.isascii() and card_number.isdigit() and 12 <= len(card_number) <= 19):
            raise CardUnreadable("the card number cannot be read (12-19 digits expected)",
                                 card=mask_card(card_number))
        self._card, self._state, self._taken = card_number, CardReaderState.INSERTED, False
        self._record(CardEventKind.INSERTED, card_number)

    def eject(self) -> None:
        if self._state is not CardReaderState.INSERTED or self._card is None:
            raise NoCard("no card to eject", state=self._state.value)
        self._state = CardReaderState.EJECTED
        self._record(CardEventKind.EJECTED, self._card)

    def take(self) -> None:
        if self._state is not CardReaderState.EJECTED or self._card is None:
            raise NoCard("no ejected card to take", state=self._state.value)
        self._record(CardEventKind.TAKEN, self._card)
        self._card, self._state, self._taken = None, CardReaderState.EMPTY, True

    def retain(self, reason: RetainReason) -> None:
        if self._state not in (CardReaderState.INSERTED, CardReaderState.EJECTED) or self._card is None:
            raise NoCard("no card to retain", state=self._state.value)
        self.retained_cards.append(PII(self._card, PiiKind.CARD))
        self._record(CardEventKind.RETAINED, self._card, reason)
        self._card, self._state = None, CardReaderState.RETAINED

    def taken(self) -> bool:
        return self._taken

    def _record(self, kind: CardEventKind, card: str, reason: RetainReason | None = None) -> None:
        self.events.append(CardEvent(kind, PII(card, PiiKind.CARD), self._clock(), reason))

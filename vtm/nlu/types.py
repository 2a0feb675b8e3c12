"""Values the understanding layer hands to the dialog: entities (slots) and the parse result.

These are the contract between the rule-based extractors (``vtm.nlu.entities``), the model
(``vtm.nlu.model``) and the dialog. All are frozen pydantic models and serialise to the JSON
printed by ``vtm nlu parse --json``.

Spans (``start``, ``end``) are character offsets into the *original* utterance (before
normalisation), end exclusive, so ``text == utterance[start:end]``.

Value types per slot:

=================  ==========================================================
``amount``         ``Decimal`` yuan (two places at most)
``card_number``    ``str`` of digits; ``account_number``, ``card_last4``, ``phone`` likewise
``id_number``      ``str`` of 17 digits + digit or ``X``
``payee_name``     ``str`` (a person's name as heard)
``payee_alias``    ``str`` canonical relation (``mother``, ``father``, ...)
``payee_bank``     ``str`` canonical bank code (``ICBC``, ``CCB``, ``OWN`` for "our bank" ...)
``date_range``     ``DateRange`` (inclusive start and end)
``delivery``       ``str`` one of ``print``, ``screen``, ``email``
``loss_kind``      ``str`` one of ``temporary``, ``formal`` (``vtm.banking.models.LossKind``)
``arrival``        ``str`` one of ``realtime``, ``delayed``
``language``       ``str`` one of ``zh``, ``en``
=================  ==========================================================

An entity the rules recognised but whose value is wrong (a card number failing Luhn, a
negative or absurd amount, a period wholly in the future) is still reported, with
``valid=False`` and a machine-readable ``reason``, so the dialog can say *what* is wrong
instead of behaving as if nothing was heard.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "WARM_UP",
    "DateRange",
    "Entity",
    "EntitySource",
    "InvalidReason",
    "Lang",
    "NluResult",
    "SlotName",
    "SlotValue",
]

Lang = Literal["zh", "en"]

# Parsed once before the first customer: they load the intent model and every entity lexicon, the
# pinyin table for Chinese names spelt in English included (otherwise about 0.5 s on the first
# English turn that names a payee).
WARM_UP: tuple[tuple[str, Lang], ...] = (("给刘洋转一千块", "zh"), ("send a hundred to Liu Yang", "en"))


class SlotName(StrEnum):
    AMOUNT = "amount"
    CARD_NUMBER = "card_number"
    ACCOUNT_NUMBER = "account_number"
    CARD_LAST4 = "card_last4"
    PAYEE_NAME = "payee_name"
    PAYEE_ALIAS = "payee_alias"
    PAYEE_BANK = "payee_bank"
    DATE_RANGE = "date_range"
    ID_NUMBER = "id_number"
    PHONE = "phone"
    DELIVERY = "delivery"
    LOSS_KIND = "loss_kind"
    ARRIVAL = "arrival"
    LANGUAGE = "language"


class EntitySource(StrEnum):
    RULE = "rule"
    MODEL = "model"


class InvalidReason(StrEnum):
    """Why a recognised entity cannot be used as it stands."""

    NEGATIVE = "negative"  # amount below zero
    ZERO = "zero"  # amount of nothing
    TOO_LARGE = "too_large"  # amount above the absolute ceiling (10^8 yuan)
    TOO_PRECISE = "too_precise"  # amount with more than two decimals
    CHECKSUM = "checksum"  # Luhn (cards) or GB 11643 (ID numbers) fails
    LENGTH = "length"  # wrong number of digits for the kind of number named (card, phone, ID)
    FUTURE = "future"  # date range wholly after today
    REVERSED = "reversed"  # date range ends before it starts


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DateRange(_Frozen):
    """An inclusive period of calendar days."""

    start: date
    end: date


SlotValue = Decimal | DateRange | str


class Entity(_Frozen):
    """One slot value found in an utterance."""

    name: SlotName
    value: SlotValue
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    source: EntitySource = EntitySource.RULE
    valid: bool = True
    reason: InvalidReason | None = None
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)

    @model_validator(mode="before")
    @classmethod
    def _typed_value(cls, data: Any) -> Any:
        """Give the value its slot's type, so a JSON round trip keeps an amount a ``Decimal``."""
        if isinstance(data, dict) and "value" in data:
            name, value = data.get("name"), data["value"]
            if name == SlotName.AMOUNT and isinstance(value, str | int):
                data = {**data, "value": Decimal(value)}
            elif name == SlotName.DATE_RANGE and isinstance(value, dict):
                data = {**data, "value": DateRange.model_validate(value)}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Entity:
        if self.end < self.start:
            raise ValueError("entity end precedes start")
        if self.valid != (self.reason is None):
            raise ValueError("an invalid entity needs a reason, a valid one must not have one")
        if self.name is SlotName.AMOUNT and not isinstance(self.value, Decimal):
            raise ValueError("an amount is a Decimal")
        if (self.name is SlotName.DATE_RANGE) != isinstance(self.value, DateRange):
            raise ValueError("a date_range, and only a date_range, holds a DateRange")
        return self


class NluResult(_Frozen):
    """What the understanding layer made of one utterance."""

    text: str
    lang: Lang
    intent: str
    confidence: float = Field(ge=0.0, le=1.0)
    slots: list[Entity] = Field(default_factory=list)
    best_guess: str | None = Field(
        default=None, description="out_of_scope only for want of confidence: the intent the model ranked first")

"""What the gate judges: an immutable snapshot of session, identity, transaction and core facts.

The dialog builds a fresh :class:`GateContext` for every checkpoint; the gate never reaches out to
the core bank or the clock itself, so a verdict is a pure function of (pack, checkpoint, context)
and can be replayed from the audit log.

Usage::

    ctx = GateContext(
        session=SessionFacts(session_id="S-1", kiosk_id="VTM-0001",
                             started_at=t0, last_activity_at=t1, now=t1),
        identity=Identity(customer_id="C-1", factors=frozenset({AuthFactor.CARD, AuthFactor.PIN})),
        transaction="transfer",
        slots=Slots(amount=Decimal("800.00"), payee_account="6222...", payee_name="王芳", payee_bank="ICBC"),
        core=CoreFacts(card_status=CardStatus.ACTIVE, daily_transferred=Decimal("0")),
    )
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer

from vtm.banking.models import Arrival, CardStatus, Channel, LossKind, Money
from vtm.banking.pin_rules import PinWeakness

__all__ = [
    "AuthFactor",
    "Confirmation",
    "Consent",
    "CoreFacts",
    "GateContext",
    "Identity",
    "RecentTransfer",
    "SessionFacts",
    "Slots",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AuthFactor(StrEnum):
    """Verification factors the kiosk can reach; ``PIN_RECONFIRMED`` is a second PIN entry for this step."""

    CARD = "card"
    PIN = "pin"
    PIN_RECONFIRMED = "pin_reconfirmed"
    ID_CARD = "id_card"
    FACE = "face"


class Consent(StrEnum):
    """Separate consents (PIPL Art. 29): face processing needs its own yes."""

    FACE = "face"


class SessionFacts(_Frozen):
    session_id: str = Field(min_length=1, max_length=80)
    kiosk_id: str = Field(min_length=1, max_length=64)
    channel: Channel = Channel.KIOSK
    language: Literal["zh", "en"] = "zh"
    started_at: AwareDatetime
    last_activity_at: AwareDatetime
    now: AwareDatetime
    elderly: bool = False
    age: int | None = Field(default=None, ge=0, le=130)
    recent_utterances: tuple[str, ...] = Field(
        default=(), description="The customer's own words, newest last"
    )
    heard: dict[str, AwareDatetime] = Field(
        default_factory=dict, description="Prompt key -> when the customer heard it played in full"
    )
    acknowledged: frozenset[str] = Field(
        default=frozenset(), description="Prompt keys of warnings the customer heard and acknowledged"
    )
    consents: frozenset[Consent] = frozenset()


class Identity(_Frozen):
    customer_id: str | None = None
    factors: frozenset[AuthFactor] = Field(
        default=frozenset(), description="Factors verified in this session"
    )


class Confirmation(_Frozen):
    """How the customer confirmed the read-back: a phrase from the closed yes-list, or the confirm button."""

    method: Literal["phrase", "button"]
    said: str | None = Field(default=None, max_length=120, description="The yes-phrase heard (normalised)")
    at: AwareDatetime


class Slots(_Frozen):
    """The transaction's parameters as the dialog has filled them (all optional: filled step by step)."""

    amount: Money | None = None
    from_account: str | None = None
    card_number: str | None = None
    payee_account: str | None = None
    payee_name: str | None = None
    payee_bank: str | None = None
    payee_own_same_bank: bool = Field(
        default=False, description="Transfer to the customer's own account at the same bank (no 24 h delay)"
    )
    new_payee: bool = False
    payee_confirmed_at: AwareDatetime | None = None
    arrival: Arrival | None = None
    arrival_chosen_at: AwareDatetime | None = None
    confirmed_at: AwareDatetime | None = Field(
        default=None, description="When the customer confirmed the read-back"
    )
    confirmation: Confirmation | None = Field(
        default=None,
        description="The explicit confirmation itself; an operation that needs one has no permit without it",
    )
    purpose: str | None = Field(
        default=None, max_length=500,
        description="The customer's own answer when the kiosk asked what the money is for (an ``ask`` rule)",
    )
    period_start: date | None = None
    period_end: date | None = None
    loss_kind: LossKind | None = None
    reference: str | None = Field(default=None, description="The transfer to revoke")
    topic: str | None = Field(
        default=None, max_length=120, description="At knowledge.answer: '<topic>:<entry id>' about to be answered"
    )
    requested_factor: AuthFactor | None = Field(
        default=None, description="Verification about to be performed"
    )
    new_pin_weakness: frozenset[PinWeakness] | None = Field(
        default=None,
        description="Weaknesses of the new PIN (vtm.banking.pin_rules; empty: none) - names only, never "
        "the PIN; None: not judged yet",
    )
    new_pin_matches: bool | None = Field(
        default=None, description="The two entries of the new PIN are equal; None: not entered twice yet"
    )

    @field_serializer("new_pin_weakness")
    def _sorted(self, value: frozenset[PinWeakness] | None) -> list[str] | None:
        # Sorted: the judged slots are hashed into the audit, and a set's order varies by process.
        return None if value is None else sorted(value)


class RecentTransfer(_Frozen):
    at: AwareDatetime
    amount: Money
    to_account: str | None = None


class CoreFacts(_Frozen):
    """What the core bank reported, fetched by the dialog before the checkpoint."""

    card_status: CardStatus | None = None
    pin_locked: bool = False
    failed_pin_attempts: int = Field(default=0, ge=0)
    daily_transferred: Money = Field(
        default=Decimal("0"), description="Already transferred today in this channel"
    )
    daily_transfer_count: int = Field(default=0, ge=0)
    recent_transfers: tuple[RecentTransfer, ...] = Field(default=(), description="Transfers in the last 24 h")
    balance: Decimal | None = None


class GateContext(_Frozen):
    session: SessionFacts
    identity: Identity = Identity()
    transaction: str = Field(min_length=1)
    slots: Slots = Slots()
    core: CoreFacts = CoreFacts()

"""Session state: what the kiosk knows about the customer in front of it, turn by turn.

The state is plain data (no I/O). The dialog manager mutates it; the session store records a
masked snapshot of it after every turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from vtm.banking.models import AuthResult, CardStatus
from vtm.compliance.context import AuthFactor, Consent
from vtm.dialog.prompts import Lang
from vtm.flows.machine import Flow

__all__ = ["DEVICE_PROMPTS", "Awaiting", "Pending", "Session", "SessionOutcome"]


class SessionOutcome(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    HANDED_OFF = "handed_off"
    FAILED = "failed"


class Awaiting(StrEnum):
    """What the kiosk is waiting for besides a slot answer."""

    CARD = "card"
    PIN = "pin"
    PIN_AGAIN = "pin_again"
    ID_CARD = "id_card"
    FACE_CONSENT = "face_consent"
    FACE = "face"
    ACKNOWLEDGE = "acknowledge"
    CANCEL_CONFIRM = "cancel_confirm"
    HANDOFF_CONFIRM = "handoff_confirm"
    WHAT_TO_CHANGE = "what_to_change"
    OFFER_TRANSACTION = "offer_transaction"  # "要现在帮您办理挂失吗？" after a knowledge answer
    PROPOSAL = "proposal"  # "先帮您临时挂失，好吗？": a yes fills the slot with its default
    GATE_QUESTION = "gate_question"  # "这笔钱是做什么用的？": a rule waits for the customer's own words


DEVICE_PROMPTS: dict[Awaiting, str] = {
    Awaiting.CARD: "auth.insert_card", Awaiting.PIN: "auth.enter_pin", Awaiting.PIN_AGAIN: "auth.pin_again",
    Awaiting.ID_CARD: "auth.scan_id", Awaiting.FACE: "auth.look_at_camera",
}
"""The prompt that asks for each device action the kiosk may be waiting for."""


@dataclass
class Pending:
    awaiting: Awaiting
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Session:
    session_id: str
    kiosk_id: str
    lang: Lang
    started_at: datetime
    last_activity_at: datetime
    elderly: bool = False
    # Identity reached in this session.
    factors: set[AuthFactor] = field(default_factory=set)
    consents: set[Consent] = field(default_factory=set)
    card_number: str | None = None  # the inserted card
    card_status: CardStatus | None = None
    customer: AuthResult | None = None
    customer_id: str | None = None
    customer_name: str | None = None
    id_number: str | None = None  # from the ID-card reader
    id_photo: str | None = None
    # Conversation.
    flow: Flow | None = None
    stack: list[Flow] = field(default_factory=list)
    pending: Pending | None = None
    last_prompts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    no_match_count: int = 0
    silence_count: int = 0
    turn: int = 0
    recent_utterances: list[str] = field(default_factory=list)
    heard: dict[str, datetime] = field(default_factory=dict)
    acknowledged: set[str] = field(default_factory=set)
    transactions_done: list[str] = field(default_factory=list)
    finished_slots: dict[str, dict[str, Any]] = field(default_factory=dict)  # per transaction, its last values
    last_question: str | None = None  # the last question the knowledge base answered (for "那跨行呢？")
    outcome: SessionOutcome = SessionOutcome.ACTIVE
    ended: bool = False
    # Delayed transfers accepted in this session (reference, facts) for "revoke that transfer".
    delayed_transfers: list[dict[str, Any]] = field(default_factory=list)
    step_counter: int = 0

    def remember_utterance(self, text: str, keep: int = 6) -> None:
        self.recent_utterances = [*self.recent_utterances, text][-keep:]

    def next_key(self, operation: str) -> str:
        """A fresh idempotency key, stable within this session's step (never reused for another step)."""
        self.step_counter += 1
        return f"{self.session_id}-{operation}-{self.step_counter}"

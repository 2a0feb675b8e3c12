"""What a Rasa tracker carries for the kiosk engine, and how it becomes a dialog :class:`Session`.

The action server is stateless: everything a step needs arrives in the tracker. Three groups:

* **Transaction slots**, named as in ``transactions/*.yaml`` (``amount``, ``payee_name`` ...),
  filled by Rasa's forms and validated by our ``validate_<form>`` actions.
* **Identity slots**, set only by the bank's own channel after it has verified the customer
  (they have no mapping from user text, so nothing the customer says can fill them):
  ``auth_card_number`` (the card the customer authenticated with: the kiosk's "inserted card"),
  ``auth_factors`` (the factors the channel verified: ``card``, ``pin``, ``id_card``, ``face``),
  ``customer_id``, and ``face_consent``. A PIN never travels in a slot.
* ``vtm_state``: the engine's own bookkeeping between calls (which notices the customer heard
  and acknowledged, what the last question was, the transaction's idempotency scope, delayed
  transfers that may still be revoked). Only our actions write it.

Slot values are JSON; :func:`slot_value` / :func:`from_slot_value` convert the engine's typed
values (``Decimal`` amounts, date ranges) to and from it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from vtm.compliance.context import AuthFactor, Consent
from vtm.dialog.prompts import Lang
from vtm.dialog.session import Session
from vtm.rasa import RasaBridgeError

__all__ = [
    "IDENTITY_SLOTS",
    "STATE_SLOT",
    "ConversationState",
    "TrackerView",
    "from_slot_value",
    "slot_value",
]

STATE_SLOT = "vtm_state"
OUTCOME_SLOT = "vtm_outcome"
LANGUAGE_SLOT = "language"
IDENTITY_SLOTS = ("auth_card_number", "auth_factors", "customer_id", "face_consent")


@dataclass(frozen=True)
class TrackerView:
    """The parts of a Rasa tracker the engine reads (kept free of rasa-sdk types)."""

    sender_id: str
    lang: Lang
    slots: dict[str, Any]
    latest_intent: str | None
    latest_text: str

    @classmethod
    def from_parts(cls, sender_id: str, slots: dict[str, Any], latest_message: dict[str, Any] | None) -> TrackerView:
        message = latest_message or {}
        intent = (message.get("intent") or {}).get("name")
        lang_raw = str(slots.get(LANGUAGE_SLOT) or "zh").lower()
        lang: Lang = "en" if lang_raw.startswith("en") else "zh"
        return cls(sender_id=sender_id, lang=lang, slots=dict(slots), latest_intent=intent,
                   latest_text=str(message.get("text") or ""))

    @property
    def auth_card(self) -> str | None:
        card = self.slots.get("auth_card_number")
        return str(card) if card else None

    @property
    def factors(self) -> set[AuthFactor]:
        raw = self.slots.get("auth_factors") or []
        if isinstance(raw, str):
            raw = [raw]
        try:
            return {AuthFactor(str(f)) for f in raw}
        except ValueError as exc:
            raise RasaBridgeError(f"auth_factors: {exc}; known: {[f.value for f in AuthFactor]}") from exc

    @property
    def state(self) -> ConversationState:
        return ConversationState.from_json(self.slots.get(STATE_SLOT))


@dataclass
class ConversationState:
    """The engine's bookkeeping kept in the ``vtm_state`` slot between action calls."""

    heard: dict[str, datetime] = field(default_factory=dict)
    acknowledged: set[str] = field(default_factory=set)
    pending: dict[str, Any] | None = None  # {"kind": "acknowledge"|"confirm"|"offer", ...}
    scope: dict[str, Any] | None = None  # {"transaction", "id", "started_at"}: one transaction's keys
    delayed_transfers: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_json(cls, raw: Any) -> ConversationState:
        if not raw:
            return cls()
        if not isinstance(raw, dict):
            raise RasaBridgeError(f"{STATE_SLOT} must be an object, not {type(raw).__name__}")
        return cls(
            heard={k: datetime.fromisoformat(v) for k, v in (raw.get("heard") or {}).items()},
            acknowledged=set(raw.get("acknowledged") or []),
            pending=raw.get("pending"),
            scope=raw.get("scope"),
            delayed_transfers=[
                {**t, "amount": Decimal(str(t["amount"])), "execute_at": datetime.fromisoformat(t["execute_at"])}
                for t in raw.get("delayed_transfers") or []
            ],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "heard": {k: v.isoformat() for k, v in sorted(self.heard.items())},
            "acknowledged": sorted(self.acknowledged),
            "pending": self.pending,
            "scope": self.scope,
            "delayed_transfers": [
                {**t, "amount": str(t["amount"]), "execute_at": t["execute_at"].isoformat()}
                for t in self.delayed_transfers
            ],
        }

    def scope_for(self, transaction: str, now: datetime) -> dict[str, Any]:
        """The idempotency scope of the running transaction (a new one when another transaction starts)."""
        if self.scope is None or self.scope.get("transaction") != transaction:
            self.scope = {"transaction": transaction, "id": uuid.uuid4().hex[:16], "started_at": now.isoformat()}
        return self.scope

    def new_session(self, view: TrackerView, transaction: str, kiosk_id: str, now: datetime) -> Session:
        """A dialog session for one step: identity from the channel's slots, memory from ``vtm_state``.

        The session id is fixed for the whole transaction, so idempotency keys repeat when a step is
        replayed and the core answers a replayed operation with its first result.
        """
        scope = self.scope_for(transaction, now)
        session = Session(session_id=f"R-{scope['id']}", kiosk_id=kiosk_id, lang=view.lang,
                          started_at=datetime.fromisoformat(scope["started_at"]), last_activity_at=now)
        session.card_number = view.auth_card
        session.factors = view.factors | ({AuthFactor.CARD} if view.auth_card else set())
        if not view.auth_card:
            session.factors.discard(AuthFactor.CARD)
        session.customer_id = str(view.slots["customer_id"]) if view.slots.get("customer_id") else None
        if view.slots.get("face_consent") is True:
            session.consents.add(Consent.FACE)
        session.heard = dict(self.heard)
        session.acknowledged = set(self.acknowledged)
        session.delayed_transfers = [dict(t) for t in self.delayed_transfers]
        if view.latest_text:
            session.remember_utterance(view.latest_text)
        return session


def slot_value(value: Any) -> Any:
    """An engine value as a JSON slot value (amounts as strings, date ranges as two ISO dates)."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, date) for v in value):
        return [value[0].isoformat(), value[1].isoformat()]
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


def from_slot_value(slot_type: str, value: Any) -> Any:
    """A JSON slot value (as :func:`slot_value` wrote it) as the engine's typed value."""
    if value in (None, ""):
        return None
    try:
        if slot_type == "amount":
            return Decimal(str(value))
        if slot_type == "date_range":
            start, end = value
            return (date.fromisoformat(str(start)), date.fromisoformat(str(end)))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise RasaBridgeError(f"slot of type {slot_type} has an unusable value {value!r}") from exc
    return str(value)

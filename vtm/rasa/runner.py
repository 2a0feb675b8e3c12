"""One transaction step for Rasa, run headless through the kiosk's own dialog manager.

An operation action hands the tracker's slots to :func:`run_step`, which rebuilds the transaction
(:class:`~vtm.flows.machine.Flow` from ``transactions/*.yaml``) and lets the
:class:`~vtm.dialog.manager.DialogManager` run it from its first state: every state's gate
checkpoint is judged exactly as on the kiosk, operations go through
:class:`~vtm.compliance.guarded.GuardedCoreBanking` with the ``allow`` verdict's permit, and the
replies are rendered from ``dialogs/prompts`` in the tracker's language. The step stops where the
kiosk would wait for the customer; the tracker's answer to that question (the latest intent) is
applied on the next call:

* ``confirm``     read-back; an ``affirm`` confirms exactly the values read back (a digest)
* ``acknowledge`` a warning that must be heard and acknowledged (``affirm``)
* ``offer``       a yes/no offer (a replacement card); offers that need the kiosk's printer are declined
* ``ask``         the gate's question (what a large transfer to a new payee is for); the next
                  message's text is the answer, kept in the transaction's scope
* ``step_up``     the gate wants a verification the channel must perform (``auth_factors``)

Replaying from the first state is safe because every state before the stop is either read-only or
keyed: the idempotency keys are scoped to the transaction (``vtm_state.scope``), so the core
answers a replayed operation with its first result, and replies already returned are not repeated.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vtm.dialog.content import PIN_PAD
from vtm.dialog.context import TurnContext
from vtm.dialog.engine import advance
from vtm.dialog.manager import DialogManager
from vtm.dialog.plugins import all_guards
from vtm.dialog.policies.pending import ANSWER_MAX_CHARS
from vtm.dialog.session import Awaiting
from vtm.dialog.turn import Reply, TurnRecord
from vtm.flows.definition import StateKind, TransactionDefinition, Trigger
from vtm.flows.machine import Flow
from vtm.kiosk.bootstrap import KioskServices
from vtm.rasa import RasaBridgeError
from vtm.rasa.services import with_fresh_devices
from vtm.rasa.state import ConversationState, TrackerView, from_slot_value, slot_value

__all__ = ["KIOSK_ONLY_OPERATIONS", "StepResult", "run_step"]

# Operations that need the kiosk's own hardware; a Rasa channel declines offers that lead to them.
KIOSK_ONLY_OPERATIONS = frozenset({"print_receipt"})
# Replies about the kiosk's hardware that mean nothing in another channel.
KIOSK_ONLY_PROMPTS = frozenset({"card_loss.card_retained", "transfer.receipt_printed"})


@dataclass
class StepResult:
    """What one step produced, in engine terms (the actions module turns it into Rasa events)."""

    transaction: str
    outcome: str  # completed|cancelled|failed|denied|handed_off|confirm|acknowledge|ask|offer|step_up|collect
    replies: list[Reply]
    slots: dict[str, Any]  # slot updates (transaction slots, vtm_state, vtm_outcome)
    requested_slot: str | None = None  # collect: the slot the form must ask again
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    operations: list[dict[str, Any]] = field(default_factory=list)


def _digest(flow: Flow) -> str:
    """The values a confirmation is about: a changed value needs a new read-back."""
    values = {k: slot_value(v) for k, v in sorted(flow.slots.items())}
    return hashlib.sha256(json.dumps([flow.name, values], default=str).encode()).hexdigest()[:16]


def build_flow(definition: TransactionDefinition, view: TrackerView) -> Flow:
    return Flow(definition, slots={s.name: from_slot_value(s.type, view.slots.get(s.name)) for s in definition.slots},
                guards=all_guards())


def run_step(services: KioskServices, view: TrackerView, transaction: str) -> StepResult:
    """Run ``transaction`` on the tracker's slots until it needs the customer; never raises for a refusal."""
    if transaction not in services.definitions:
        raise RasaBridgeError(f"unknown transaction {transaction!r}; known: {sorted(services.definitions)}")
    definition = services.definitions[transaction]
    now = services.clock()
    state = view.state
    session = state.new_session(view, transaction, services.settings.kiosk_id, now)
    dm = DialogManager(with_fresh_devices(services, view.auth_card), session)
    flow = build_flow(definition, view)
    session.flow = flow
    scope = state.scope or {}
    pending = state.pending or {}
    # Consent is the closed yes-list, never the classifier's "affirm" (see vtm.dialog.confirmation).
    said_yes = services.confirmation.match(view.latest_text, view.lang, definition.confirm_phrases_for(view.lang))
    if pending.get("kind") == "acknowledge" and said_yes:
        session.acknowledged.update(pending.get("keys", []))
    if pending.get("kind") == "confirm" and said_yes and pending.get("digest") == _digest(flow):
        scope["confirmed"] = {"digest": pending["digest"], "at": now.isoformat(), "said": said_yes}
    if pending.get("kind") == "ask" and view.latest_text.strip():
        scope.setdefault("answers", {}).update(
            {name: view.latest_text[:ANSWER_MAX_CHARS] for name in pending.get("fields", [])})
    if scope.get("answers"):
        flow.facts["answers"] = dict(scope["answers"])
    offer_answer = view.latest_intent if pending.get("kind") == "offer" and view.latest_intent in ("affirm", "deny") \
        else None

    def step(ctx: TurnContext) -> None:
        nonlocal offer_answer
        advance(ctx)
        for _ in range(len(definition.states) * 2):
            if session.pending is not None or session.flow is not flow or flow.finished:
                return
            spec = flow.spec
            confirmed = scope.get("confirmed") or {}
            if spec.kind is StateKind.CONFIRM and confirmed.get("digest") == _digest(flow):
                at = datetime.fromisoformat(confirmed["at"])
                flow.facts["confirmed_at"] = at
                flow.facts["confirmation"] = {"method": "phrase", "said": confirmed.get("said"), "at": at}
                flow.fire(Trigger.AFFIRM)
            elif spec.kind is StateKind.OFFER and _kiosk_only_offer(definition, spec.name):
                flow.fire(Trigger.DENY)
            elif spec.kind is StateKind.OFFER and offer_answer and pending.get("state") == spec.name:
                flow.fire(offer_answer)
                offer_answer = None
            else:
                return
            advance(ctx)

    record = dm.record_turn(step)
    return _result(services, view, state, flow, dm, record, now)


def _kiosk_only_offer(definition: TransactionDefinition, state: str) -> bool:
    dests = [t.dest for t in definition.transitions if t.trigger == "affirm" and state in t.sources]
    return any(definition.state(d).operation in KIOSK_ONLY_OPERATIONS for d in dests)


def _result(services: KioskServices, view: TrackerView, state: ConversationState, flow: Flow,
            dm: DialogManager, record: TurnRecord, now: datetime) -> StepResult:
    session, definition = dm.session, flow.definition
    scope = state.scope or {}
    said: list[str] = list(scope.get("said", []))
    declined_offers = {st.prompt for st in definition.states
                       if st.kind is StateKind.OFFER and _kiosk_only_offer(definition, st.name)}
    replies = [r for r in record.replies if r.key not in KIOSK_ONLY_PROMPTS | declined_offers]
    requested: str | None = None
    state.pending = None
    if session.ended:
        outcome = "handed_off" if session.outcome.value == "handed_off" else "failed"
    elif session.flow is not flow or flow.finished:
        outcome = "denied" if flow.facts.get("denied") else (flow.spec.outcome.value if flow.spec.outcome else "failed")
        replies = [r for r in replies if r.key != "session.anything_else"]
    elif session.pending is not None and session.pending.awaiting is Awaiting.ACKNOWLEDGE:
        outcome = "acknowledge"
        state.pending = {"kind": "acknowledge", "keys": list(session.pending.detail.get("keys", []))}
    elif session.pending is not None and session.pending.awaiting is Awaiting.GATE_QUESTION:
        outcome = "ask"
        state.pending = {"kind": "ask", "fields": list(session.pending.detail.get("fields", []))}
    elif session.pending is not None:
        outcome = "step_up"
        state.pending = {"kind": "step_up", "awaiting": session.pending.awaiting.value}
    elif flow.spec.kind is StateKind.CONFIRM:
        outcome = "confirm"
        state.pending = {"kind": "confirm", "digest": _digest(flow)}
    elif flow.spec.kind is StateKind.OFFER:
        outcome = "offer"
        state.pending = {"kind": "offer", "state": flow.spec.name}
    elif _pin_pad_slot(flow) is not None:
        # A PIN is typed on the bank's PIN pad, never carried in a tracker: the channel must perform it.
        outcome = "step_up"
        state.pending = {"kind": "step_up", "awaiting": PIN_PAD, "slot": _pin_pad_slot(flow)}
    else:
        outcome = "collect"
        missing = flow.missing_slots()
        requested = missing[0] if missing else None
        # The form asks for the slot itself (action_ask_<slot>): drop the dialog's own question.
        asks = {definition.slot(s).prompt for s in missing}
        replies = [r for r in replies if r.key not in asks]
    # Replies already returned earlier in this transaction (a replayed step) are not repeated;
    # the question the step stops at always is.
    done = outcome in ("completed", "cancelled", "failed", "denied", "handed_off")
    question = len(replies) - 1 if not done else -1
    fresh = [r for i, r in enumerate(replies) if i == question or _said_key(r) not in said]
    scope["said"] = sorted({*said, *(_said_key(r) for r in replies)})
    state.heard = dict(session.heard)
    state.acknowledged = set(session.acknowledged)
    state.delayed_transfers = [dict(t) for t in session.delayed_transfers]
    slots: dict[str, Any] = {}
    for slot in definition.slots:
        if slot.type == PIN_PAD:
            continue  # never written to the tracker
        value = None if done else slot_value(flow.slots.get(slot.name))
        if value != view.slots.get(slot.name):
            slots[slot.name] = value
    state.scope = None if done else scope
    if done:
        state.heard, state.acknowledged = {}, set()
    slots["vtm_state"] = state.to_json()
    slots["vtm_outcome"] = f"{flow.name}:{outcome}"
    return StepResult(transaction=flow.name, outcome=outcome, replies=fresh, slots=slots, requested_slot=requested,
                      verdicts=record.verdicts, operations=record.operations)


def _pin_pad_slot(flow: Flow) -> str | None:
    missing = flow.missing_slots() if flow.spec.kind is StateKind.COLLECT else []
    return missing[0] if missing and flow.definition.slot(missing[0]).type == PIN_PAD else None


def _said_key(reply: Reply) -> str:
    return hashlib.sha256(f"{reply.key}\x00{reply.text}".encode()).hexdigest()[:12]

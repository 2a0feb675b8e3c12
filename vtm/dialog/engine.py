"""Running a transaction: start it, advance its state machine through the gate, finish or cancel it.

*Advancing* is the heart of it: before a state acts, its gate checkpoint is judged, and the
verdict decides what happens (go on, play a warning and wait for an acknowledgement, ask for a
verification, hand off, or refuse). A collect state asks for its first missing slot; an operation
state runs its plug-in's operation with the permit just given; confirm and offer states say their
prompt and wait. Nothing here knows a particular transaction: the plug-ins do.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from vtm.banking.errors import CoreBankingError
from vtm.compliance.verdict import Outcome, Verdict
from vtm.dialog import repair
from vtm.dialog.context import TurnContext
from vtm.dialog.gate_context import build_context
from vtm.dialog.plugins import all_guards, all_operations, all_session_facts, plugin_for
from vtm.dialog.session import Awaiting, Pending
from vtm.dialog.slots import fill_slots
from vtm.dialog.values import ask_values, read_back
from vtm.dialog.verification import request_verification
from vtm.flows.definition import Outcome as FlowOutcome
from vtm.flows.definition import StateKind, Trigger
from vtm.flows.machine import Flow
from vtm.nlu.types import NluResult

__all__ = ["advance", "cancel_flow", "fail_flow", "finish_flow", "known_session_facts", "new_flow", "progress",
           "session_fact", "start_flow"]

_MAX_STEPS = 40  # a definition that loops without asking anything is a bug, not a hang
_SESSION_FACTS: dict[str, Callable[[TurnContext], Any]] = {
    "inserted_card": lambda ctx: ctx.session.card_number,
    "inserted_account": lambda ctx: ctx.own_account(),
}
"""Built-in ``default_from`` facts; plug-ins add their own (``TransactionPlugin.session_facts``)."""


def new_flow(ctx: TurnContext, name: str, slots: dict[str, Any] | None = None) -> Flow:
    return Flow(ctx.services.definitions[name], slots=slots, guards=all_guards())


def start_flow(ctx: TurnContext, name: str, nlu: NluResult) -> None:
    session = ctx.session
    if session.flow is not None and not session.flow.finished:
        session.stack.append(session.flow)
    session.pending = None
    flow = new_flow(ctx, name)
    session.flow = flow
    fill_slots(ctx, flow, nlu)
    progress(ctx)


def progress(ctx: TurnContext) -> None:
    """The customer moved the transaction on: forget earlier misses and run it on."""
    ctx.session.no_match_count = 0
    advance(ctx)


def advance(ctx: TurnContext) -> None:
    """Run the transaction on until it needs the customer."""
    session = ctx.session
    for _ in range(_MAX_STEPS):
        flow = session.flow
        if flow is None or session.pending is not None or session.ended:
            return
        spec = flow.spec
        if spec.kind is StateKind.FINAL:
            finish_flow(ctx, flow)  # resumes (and advances) an interrupted transaction itself
            return
        _prefill(ctx, flow)
        verdict = _check(ctx, spec.checkpoint, flow) if spec.checkpoint else None
        if verdict is not None and _retry(ctx, verdict, flow):
            continue
        if verdict is not None and not _obey(ctx, verdict, flow):
            return
        if spec.kind is StateKind.COLLECT:
            missing = flow.missing_slots()
            if missing:
                slot = flow.definition.slot(missing[0])
                ctx.say(slot.prompt, **ask_values(ctx, flow))
                if not slot.ask:  # nothing the customer could say fills it: the transaction cannot go on
                    flow.fire(Trigger.FAIL)
                    continue
                return
            flow.fire(Trigger.PROCEED)
        elif spec.kind is StateKind.OPERATION:
            assert spec.operation is not None
            started = time.perf_counter()
            event = all_operations()[spec.operation](ctx, flow, verdict.permit if verdict else None)
            latency = ctx.record.latency_ms
            latency["core"] = latency.get("core", 0) + (time.perf_counter() - started) * 1000
            flow.fire(event)
        else:  # confirm and offer: say it and wait for the customer
            assert spec.prompt is not None
            ctx.say(spec.prompt, **read_back(ctx, flow))
            return
    raise RuntimeError(f"transaction {session.flow.name if session.flow else '?'} did not settle")


def known_session_facts() -> set[str]:
    """The ``default_from`` names a transaction definition may use."""
    return {*_SESSION_FACTS, *all_session_facts()}


def session_fact(ctx: TurnContext, name: str) -> Any:
    """The value of a ``default_from`` session fact named in a transaction definition (None: not known)."""
    facts = {**_SESSION_FACTS, **all_session_facts()}
    if name not in facts:
        raise KeyError(f"unknown session fact {name!r} in a transaction definition")
    try:
        return facts[name](ctx)
    except CoreBankingError:
        return None  # asked for instead


def _prefill(ctx: TurnContext, flow: Flow) -> None:
    plugin_for(flow.name).prefill(ctx, flow)
    for slot in flow.definition.slots:
        if flow.slots.get(slot.name) is None and slot.default_from:
            value = session_fact(ctx, slot.default_from)
            if value is not None:
                flow.slots[slot.name] = value


def _check(ctx: TurnContext, checkpoint: str, flow: Flow) -> Verdict:
    started = time.perf_counter()
    verdict = ctx.services.gate.check(checkpoint, build_context(ctx, flow))
    latency = ctx.record.latency_ms
    latency["gate"] = latency.get("gate", 0) + (time.perf_counter() - started) * 1000
    if verdict.outcome is not Outcome.ALLOW or verdict.hits:
        ctx.record.verdicts.append({
            "checkpoint": checkpoint, "outcome": verdict.outcome.value,
            "rules": [h.rule_id for h in verdict.hits], "reasons": [h.reason_code for h in verdict.hits],
            "policy_version": verdict.policy_version[:12],
        })
    return verdict


def _retry(ctx: TurnContext, verdict: Verdict, flow: Flow) -> bool:
    """A deny about a value the customer can change (``retry_on``): say why, forget the value, ask again."""
    spec = flow.spec
    hits = verdict.blocking_hits
    if verdict.outcome is not Outcome.DENY or not spec.retry_on or not hits \
            or any(h.reason_code not in spec.retry_on for h in hits) \
            or all(flow.slots.get(slot) is None for slot in spec.slots):
        return False  # nothing the customer said is to blame: the deny stands
    for key in verdict.prompt_keys:
        ctx.say(key)
    for slot in spec.slots:
        flow.slots[slot] = None
    return True


def _obey(ctx: TurnContext, verdict: Verdict, flow: Flow) -> bool:
    """Act on a verdict; True means the state may act now."""
    outcome = verdict.outcome
    if outcome is Outcome.ALLOW:
        return True
    if outcome is Outcome.WARN:
        keys = [k for k in verdict.prompt_keys if k not in ctx.session.acknowledged]
        ctx.say("gate.warn_intro")
        for key in keys:
            ctx.say(key, interruptible=not verdict.non_interruptible)
        ctx.session.pending = Pending(Awaiting.ACKNOWLEDGE, {"keys": keys})
        ctx.say("repair.ack_needed")
        return False
    if outcome is Outcome.ASK:
        keys = list(verdict.prompt_keys)
        for key in keys:
            ctx.say(key)
        fields = sorted({h.asks for h in verdict.blocking_hits if h.asks})
        ctx.session.pending = Pending(Awaiting.GATE_QUESTION, {"keys": keys, "fields": fields})
        return False
    if outcome is Outcome.STEP_UP:
        request_verification(ctx, verdict)
        return False
    reasons = " ".join(ctx.render(k) for k in verdict.prompt_keys)
    if outcome is Outcome.REFER:
        if reasons:
            ctx.say_text("gate.refer", reasons)
        repair.handoff(ctx, "handoff.refer", reason="gate_refer")
        return False
    flow.facts["denied"] = True
    ctx.say("gate.denied", reason=reasons)
    flow.fire(Trigger.CANCEL)
    finish_flow(ctx, flow)
    return False


def finish_flow(ctx: TurnContext, flow: Flow) -> None:
    session = ctx.session
    outcome = FlowOutcome.DENIED if flow.facts.get("denied") else flow.spec.outcome
    if outcome is FlowOutcome.COMPLETED:
        session.transactions_done.append(flow.name)
        session.finished_slots[flow.name] = dict(flow.slots)
    ctx.record_operation("transaction_end", None, f"{flow.name}:{outcome.value if outcome else '?'}")
    session.flow = session.stack.pop() if session.stack else None
    if session.flow is not None:
        ctx.say("repair.resume", title=ctx.title(session.flow))
        advance(ctx)
    elif not session.ended and outcome is not FlowOutcome.CANCELLED:
        ctx.say("session.anything_else")


def cancel_flow(ctx: TurnContext) -> None:
    """Abandon the running transaction (nothing it has not done yet will happen)."""
    flow = ctx.flow_required()
    title = ctx.title(flow)
    flow.fire(Trigger.CANCEL)
    ctx.say("repair.cancelled", title=title)
    finish_flow(ctx, flow)
    if ctx.session.flow is None and not ctx.session.ended:
        ctx.say("session.anything_else")


def fail_flow(ctx: TurnContext) -> None:
    """End the running transaction as refused (a blocked card, an ID that does not match)."""
    flow = ctx.session.flow
    if flow is not None and not flow.finished:
        flow.facts["denied"] = True
        flow.fire(Trigger.CANCEL)
        finish_flow(ctx, flow)

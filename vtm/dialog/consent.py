"""Answers to the kiosk's own questions: explicit consent at a read-back, and defaults for choices.

Money moves, a card is reported lost or a transfer revoked only after an explicit yes: a phrase of
the closed yes-list (``dialogs/dialog.yaml`` -> ``confirmation``) or the screen's confirm button.
Anything else at a read-back is asked again, and the second time the kiosk offers to cancel.
"""

from __future__ import annotations

from vtm.dialog.context import TurnContext
from vtm.dialog.engine import progress
from vtm.dialog.session import Awaiting, Pending
from vtm.dialog.slots import mark_filled
from vtm.dialog.values import read_back
from vtm.flows.definition import SlotSpec, StateKind, Trigger
from vtm.flows.machine import Flow

__all__ = ["confirm_read_back", "explicit_yes", "propose_default", "take_default", "unclear_read_back"]


def explicit_yes(ctx: TurnContext, text: str, flow: Flow | None) -> str | None:
    """The phrase heard if ``text`` is an unmistakable yes (closed list), else None."""
    lang = ctx.session.lang
    extra = flow.definition.confirm_phrases_for(lang) if flow is not None else []
    return ctx.services.confirmation.match(text, lang, extra)


def confirm_read_back(ctx: TurnContext, flow: Flow, method: str, said: str | None) -> None:
    """The read-back was confirmed explicitly (a phrase from the yes-list, or the confirm button)."""
    now = ctx.now()
    flow.facts["confirmed_at"] = now
    flow.facts["confirmation"] = {"method": method, "said": said, "at": now}
    flow.facts.pop("unclear_answers", None)
    flow.fire(Trigger.AFFIRM)
    progress(ctx)


def unclear_read_back(ctx: TurnContext, flow: Flow) -> None:
    """Not a yes, not a no, not a correction: ask again; the second time, offer to cancel."""
    count = int(flow.facts.get("unclear_answers", 0)) + 1
    flow.facts["unclear_answers"] = count
    if count >= 2:
        flow.facts["unclear_answers"] = 0
        ctx.session.pending = Pending(Awaiting.CANCEL_CONFIRM)
        ctx.say("confirm.unclear_cancel", title=ctx.title(flow))
        return
    ctx.say("confirm.unclear")
    assert flow.spec.prompt is not None
    ctx.say(flow.spec.prompt, **read_back(ctx, flow))


def take_default(ctx: TurnContext, flow: Flow, slot: SlotSpec) -> None:
    """"都行" / "I don't mind": the slot's default (the safe choice the bank set in the YAML)."""
    flow.slots[slot.name] = slot.default
    mark_filled(ctx, flow, [slot.name])
    if slot.default_prompt is not None:
        ctx.say(slot.default_prompt)
    progress(ctx)


def propose_default(ctx: TurnContext, flow: Flow) -> bool:
    """For an elderly customer, a miss at a choice turns the either/or into a yes/no proposal."""
    missing = flow.missing_slots() if flow.spec.kind is StateKind.COLLECT else []
    if not ctx.session.elderly or not missing:
        return False
    slot = flow.definition.slot(missing[0])
    if slot.propose_prompt is None:
        return False
    ctx.session.no_match_count += 1
    ctx.session.pending = Pending(Awaiting.PROPOSAL, {"slot": slot.name})
    ctx.say(slot.propose_prompt)
    return True

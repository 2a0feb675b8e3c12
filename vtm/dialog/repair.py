"""Repair: what the kiosk does when the conversation goes off the rails.

No-match (rephrase, then offer a human), silence (escalating reprompts, then a human, or the
idle goodbye after a finished visit), help in context, reprompt, hand-off with a masked summary,
and the end of a session. Functions of the :class:`~vtm.dialog.context.TurnContext`.
"""

from __future__ import annotations

from vtm.common.masking import mask_slots
from vtm.dialog.actions import EjectCard
from vtm.dialog.context import TurnContext
from vtm.dialog.session import DEVICE_PROMPTS, Awaiting, Pending, SessionOutcome
from vtm.dialog.turn import jsonable
from vtm.dialog.values import ask_values
from vtm.flows.definition import StateKind

__all__ = ["ask_to_cancel", "current_question", "end_session", "handoff", "help_in_context", "no_match", "reprompt",
           "silence"]


def current_question(ctx: TurnContext) -> str:
    """The open question (the last thing said that is not a repair or a warning), else the menu."""
    asked = [(key, values) for key, values in ctx.session.last_prompts
             if not key.startswith(("repair.", "gate.", "session.card", "auth.pin_ok", "auth.id_ok"))]
    if not asked or asked[-1][0] in ("session.anything_else", "session.what_else", "session.welcome",
                                     "session.greeting"):
        return ctx.render("help.general")
    key, values = asked[-1]
    return ctx.render(key, **values)


def no_match(ctx: TurnContext) -> None:
    session = ctx.session
    session.no_match_count += 1
    if session.no_match_count >= 2:  # once rephrased, then a human
        session.pending = Pending(Awaiting.HANDOFF_CONFIRM, {"reason": "no_match"})
        ctx.say("repair.no_match.handoff")
    else:
        ctx.say("repair.no_match.1", hint=current_question(ctx))


def silence(ctx: TurnContext, seconds: float) -> None:
    session = ctx.session
    if session.flow is None and session.pending is None and session.transactions_done \
            and seconds >= ctx.services.idle_reset_s:
        ctx.say("session.idle_reset")
        end_session(ctx, say_goodbye=False)
        return
    session.silence_count += 1
    if session.silence_count >= 3:
        session.pending = Pending(Awaiting.HANDOFF_CONFIRM, {"reason": "silence"})
        ctx.say("repair.silence.handoff")
    elif session.silence_count == 2:
        ctx.say("repair.silence.2")
    else:
        ctx.say("repair.silence.1", hint=current_question(ctx))


def reprompt(ctx: TurnContext) -> None:
    for key, values in ctx.session.last_prompts:
        if not key.startswith("repair."):
            ctx.say(key, **values)
    if not ctx.said_this_turn:
        ctx.say("help.general")


def help_in_context(ctx: TurnContext) -> None:
    flow, pending = ctx.session.flow, ctx.session.pending
    if pending is not None and pending.awaiting in DEVICE_PROMPTS:
        what = ctx.render(DEVICE_PROMPTS[pending.awaiting])
        ctx.say("help.collect", what=what, hint=ctx.render("help.general"))
    elif flow is None:
        ctx.say("help.general")
    elif flow.spec.kind is StateKind.COLLECT and flow.missing_slots():
        what = ctx.render(flow.definition.slot(flow.missing_slots()[0]).prompt, **ask_values(ctx, flow))
        ctx.say("help.collect", what=what, hint=ctx.render("help.general"))
    elif flow.spec.kind is StateKind.CONFIRM:
        ctx.say("help.confirm")
    elif flow.spec.kind is StateKind.OFFER:
        ctx.say("help.offer")
    else:
        ctx.say("help.general")


def ask_to_cancel(ctx: TurnContext) -> None:
    """"Cancel the transfer?": a transaction is never dropped on one word; the next answer decides."""
    ctx.session.pending = Pending(Awaiting.CANCEL_CONFIRM)
    ctx.say("repair.cancel_confirm", title=ctx.title(ctx.flow_required()))


def handoff(ctx: TurnContext, prompt: str, reason: str) -> None:
    session = ctx.session
    flow = session.flow
    summary = {
        "reason": reason,
        "transaction": flow.name if flow else None,
        "state": flow.state if flow else None,
        "slots": {k: jsonable(v) for k, v in mask_slots(flow.slots).items() if v is not None} if flow else {},
        "verdicts": list(ctx.record.verdicts),
        "done": list(session.transactions_done),
    }
    ctx.record_operation("handoff", None, "requested", summary=summary)
    ctx.say(prompt)
    session.outcome = SessionOutcome.HANDED_OFF
    session.pending = None
    session.ended = True


def end_session(ctx: TurnContext, say_goodbye: bool = True) -> None:
    session = ctx.session
    if say_goodbye:
        ctx.say("session.goodbye")
    if session.card_number and ctx.services.devices.card_reader.inserted():
        ctx.act(EjectCard())
    session.ended = True
    if session.outcome is SessionOutcome.ACTIVE:
        session.outcome = SessionOutcome.COMPLETED if session.transactions_done else SessionOutcome.CANCELLED

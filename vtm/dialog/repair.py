"""Repair: what the kiosk does when the conversation goes off the rails.

No-match (rephrase, then offer a human), silence (escalating reprompts, then a human, or the
idle goodbye after a finished visit), help in context, reprompt, hand-off with a masked summary,
and the end of a session. Functions of the :class:`~vtm.dialog.manager.DialogManager`, like
:mod:`vtm.dialog.operations` and :mod:`vtm.dialog.device_events`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vtm.dialog.session import DEVICE_PROMPTS, Awaiting, Pending, SessionOutcome
from vtm.dialog.turn import jsonable
from vtm.flows.definition import StateKind
from vtm.records.masking import mask_slots

if TYPE_CHECKING:
    from vtm.dialog.manager import DialogManager

__all__ = ["current_question", "end_session", "handoff", "help_in_context", "no_match", "reprompt", "silence"]


def current_question(dm: DialogManager) -> str:
    """The open question (the last thing said that is not a repair or a warning), else the menu."""
    asked = [(key, values) for key, values in dm.session.last_prompts
             if not key.startswith(("repair.", "gate.", "session.card", "auth.pin_ok", "auth.id_ok"))]
    if not asked or asked[-1][0] in ("session.anything_else", "session.welcome", "session.greeting"):
        return dm.render("help.general")
    key, values = asked[-1]
    return dm.render(key, **values)


def no_match(dm: DialogManager) -> None:
    session = dm.session
    session.no_match_count += 1
    if session.no_match_count >= 2:  # once rephrased, then a human
        session.pending = Pending(Awaiting.HANDOFF_CONFIRM, {"reason": "no_match"})
        dm.say("repair.no_match.handoff")
    else:
        dm.say("repair.no_match.1", hint=current_question(dm))


def silence(dm: DialogManager, seconds: float) -> None:
    session = dm.session
    if session.flow is None and session.pending is None and session.transactions_done \
            and seconds >= dm.services.idle_reset_s:
        dm.say("session.idle_reset")
        end_session(dm, say_goodbye=False)
        return
    session.silence_count += 1
    if session.silence_count >= 3:
        session.pending = Pending(Awaiting.HANDOFF_CONFIRM, {"reason": "silence"})
        dm.say("repair.silence.handoff")
    elif session.silence_count == 2:
        dm.say("repair.silence.2")
    else:
        dm.say("repair.silence.1", hint=current_question(dm))


def reprompt(dm: DialogManager) -> None:
    for key, values in dm.session.last_prompts:
        if not key.startswith("repair."):
            dm.say(key, **values)
    if not dm.said_this_turn:
        dm.say("help.general")


def help_in_context(dm: DialogManager) -> None:
    flow, pending = dm.session.flow, dm.session.pending
    if pending is not None and pending.awaiting in DEVICE_PROMPTS:
        what = dm.render(DEVICE_PROMPTS[pending.awaiting])
        dm.say("help.collect", what=what, hint=dm.render("help.general"))
    elif flow is None:
        dm.say("help.general")
    elif flow.spec.kind is StateKind.COLLECT and flow.missing_slots():
        what = dm.render(flow.definition.slot(flow.missing_slots()[0]).prompt, **dm.prompt_values(flow))
        dm.say("help.collect", what=what, hint=dm.render("help.general"))
    elif flow.spec.kind is StateKind.CONFIRM:
        dm.say("help.confirm")
    elif flow.spec.kind is StateKind.OFFER:
        dm.say("help.offer")
    else:
        dm.say("help.general")


def handoff(dm: DialogManager, prompt: str, reason: str) -> None:
    session = dm.session
    flow = session.flow
    summary = {
        "reason": reason,
        "transaction": flow.name if flow else None,
        "state": flow.state if flow else None,
        "slots": {k: jsonable(v) for k, v in mask_slots(flow.slots).items() if v is not None} if flow else {},
        "verdicts": list(dm.current_record.verdicts),
        "done": list(session.transactions_done),
    }
    handoff_op = {"operation": "handoff", "key": None, "result": "requested", "summary": summary}
    dm.current_record.operations.append(handoff_op)
    dm.say(prompt)
    session.outcome = SessionOutcome.HANDED_OFF
    session.pending = None
    session.ended = True


def end_session(dm: DialogManager, say_goodbye: bool = True) -> None:
    session = dm.session
    if say_goodbye:
        dm.say("session.goodbye")
    if session.card_number and dm.devices.card_reader.inserted():
        dm.devices.card_reader.eject()
    session.ended = True
    if session.outcome is SessionOutcome.ACTIVE:
        session.outcome = SessionOutcome.COMPLETED if session.transactions_done else SessionOutcome.CANCELLED

"""Conversation control that means the same in every state: cancel, repeat, help, a person, language, goodbye.

A command does not win over an answer: "先挂着吧" gives the loss kind asked for even if the
classifier leans to "cancel", "不取消" answers "cancel it?" itself, and only stop, a person, repeat
and language win over the answer to the gate's question.
"""

from __future__ import annotations

from vtm.dialog import knowledge, repair
from vtm.dialog.acts import GLOBAL_ACTS, DialogAct
from vtm.dialog.consent import propose_default
from vtm.dialog.context import TurnContext
from vtm.dialog.policies import Utterance
from vtm.dialog.policies.flow_input import answers_open_question
from vtm.dialog.prompts import Lang
from vtm.dialog.screen import change_language
from vtm.dialog.session import Awaiting
from vtm.flows.definition import StateKind
from vtm.nlu.types import SlotName

__all__ = ["global_command"]

GLOBAL_OVER_ANSWER = 0.8  # below this confidence, a value for the open question beats a global command
# Asked what a transfer is for, the customer may still stop, ask for a person, hear it again or change
# language; anything else ("帮儿子交学费" may sound like "help") is the answer.
_OVER_GATE_QUESTION = frozenset({DialogAct.CANCEL, DialogAct.ASK_HUMAN, DialogAct.REPEAT, DialogAct.SWITCH_LANGUAGE})


def global_command(ctx: TurnContext, said: Utterance) -> bool:
    session, nlu = ctx.session, said.nlu
    if nlu.intent not in GLOBAL_ACTS:
        return False
    act = DialogAct(nlu.intent)
    confirming_cancel = session.pending is not None and session.pending.awaiting is Awaiting.CANCEL_CONFIRM
    if act is DialogAct.CANCEL and confirming_cancel:
        return False  # "取消吧" answers "cancel it?"
    if session.pending is not None and session.pending.awaiting is Awaiting.GATE_QUESTION \
            and (act not in _OVER_GATE_QUESTION or ctx.phrases.matches("why_asked", said.text)):
        return False  # the answer, or "why do you ask?" (which the classifier may take for "repeat")
    flow = session.flow
    if session.pending is None and flow is not None and nlu.confidence < GLOBAL_OVER_ANSWER \
            and answers_open_question(ctx, flow, said):
        return False
    return _command(ctx, act, said)


def _command(ctx: TurnContext, act: DialogAct, said: Utterance) -> bool:
    session = ctx.session
    if act is DialogAct.REPEAT:
        if not session.last_prompts:
            ctx.say("session.nothing_to_repeat")
        for key, values in session.last_prompts:
            ctx.say(key, **values)
        ctx.said = list(session.last_prompts)
    elif act is DialogAct.HELP:
        if ctx.is_question(said.text) and knowledge.answer_question(
                ctx, said.text, quiet_decline=True, in_flow=session.flow is not None):
            return True  # "I forgot my PIN, what should I do?" is a question with an answer, not "help"
        if session.flow is None or not propose_default(ctx, session.flow):
            repair.help_in_context(ctx)
    elif act is DialogAct.ASK_HUMAN:
        repair.handoff(ctx, "handoff.start", reason="customer_asked")
    elif act is DialogAct.SWITCH_LANGUAGE:
        wanted = next((str(e.value) for e in said.nlu.slots if e.name is SlotName.LANGUAGE), None)
        change_language(ctx, _lang(wanted) if wanted else ("en" if session.lang == "zh" else "zh"))
    elif act is DialogAct.CANCEL:
        return _cancel(ctx, said)
    elif act is DialogAct.GOODBYE:
        if session.flow is not None and not session.flow.finished:
            return False  # "bye" in the middle of a transfer is answered by the flow (no-match)
        repair.end_session(ctx)
    return True


def _cancel(ctx: TurnContext, said: Utterance) -> bool:
    session, flow = ctx.session, ctx.session.flow
    if flow is None:
        return _command(ctx, DialogAct.GOODBYE, said)
    kind = flow.spec.kind
    if session.pending is None and kind is StateKind.OFFER:
        return False  # "no, cancel that" to an offer declines the offer; the work done stays done
    if session.pending is None and kind is StateKind.CONFIRM and flow.definition.cancel_confirms:
        return False  # "yes, cancel it" confirms a revocation
    repair.ask_to_cancel(ctx)
    return True


def _lang(value: str) -> Lang:
    return "en" if value.lower().startswith("en") else "zh"

"""The running transaction's own answers: a choice left to the kiosk, a read-back's yes or no, an offer's
answer, and values for its slots (corrections included)."""

from __future__ import annotations

import re

from vtm.dialog import knowledge, repair
from vtm.dialog.acts import DialogAct
from vtm.dialog.consent import confirm_read_back, explicit_yes, propose_default, take_default, unclear_read_back
from vtm.dialog.context import TurnContext
from vtm.dialog.engine import progress
from vtm.dialog.plugins import plugin_for
from vtm.dialog.policies import Utterance
from vtm.dialog.session import Awaiting, Pending
from vtm.dialog.slots import fill_slots, mark_filled, slot_types_filled_by
from vtm.flows.definition import StateKind, Trigger
from vtm.flows.machine import Flow

__all__ = ["answers_open_question", "choice_shortcut", "flow_input"]


def answers_open_question(ctx: TurnContext, flow: Flow, said: Utterance) -> bool:
    """Does the utterance give a value for what the running transaction is asking right now?

    An answer to the question asked wins over a new transaction the classifier heard in it
    ("示例银行" is a bank name, not a request for a statement); a real digression names no value
    the current step needs.
    """
    if flow.spec.kind is not StateKind.COLLECT:
        return False
    if plugin_for(flow.name).answers_in_words(ctx, flow, said.text):
        return True
    wanted = {flow.definition.slot(name).type for name in flow.missing_slots()}
    return bool(wanted & slot_types_filled_by(said.nlu, ctx.services.slot_types))


def choice_shortcut(ctx: TurnContext, said: Utterance) -> bool:
    """Answers that name no value: "都行" takes the slot's default, "卡不在身上" hears the other ways."""
    flow = ctx.session.flow
    if ctx.session.pending is not None or flow is None or flow.spec.kind is not StateKind.COLLECT:
        return False
    missing = flow.missing_slots()
    if not missing:
        return False
    slot = flow.definition.slot(missing[0])
    if slot.default is not None and ctx.phrases.matches("any_choice", said.text):
        take_default(ctx, flow, slot)
        return True
    if slot.unavailable_prompt is not None and ctx.phrases.matches("not_with_me", said.text):
        ctx.say(slot.unavailable_prompt)
        return True
    return False


def flow_input(ctx: TurnContext, said: Utterance) -> bool:
    flow = ctx.session.flow
    if flow is None:
        return False
    kind = flow.spec.kind
    if kind is StateKind.CONFIRM and _read_back_answer(ctx, flow, said):
        return True
    if kind is StateKind.OFFER and _offer_answer(ctx, flow, said):
        return True
    _slot_answer(ctx, flow, said)
    return True


def _read_back_answer(ctx: TurnContext, flow: Flow, said: Utterance) -> bool:
    heard = explicit_yes(ctx, said.text, flow) or _yes_around_read_back_values(ctx, flow, said)
    if heard is not None:
        confirm_read_back(ctx, flow, "phrase", heard)
        return True
    if said.nlu.intent == DialogAct.DENY and not said.nlu.slots:
        ctx.session.pending = Pending(Awaiting.WHAT_TO_CHANGE)
        ctx.say("repair.what_to_change")
        return True
    return False


def _yes_around_read_back_values(ctx: TurnContext, flow: Flow, said: Utterance) -> str | None:
    """"对 就是他 张伟 五千 没错", "yeah that's him Wang Lei five thousand right": the values just read back,
    said again around a yes, belong to the yes. Any value that differs is a correction, never a yes."""
    entities = said.nlu.slots
    read_back = [value for value in flow.slots.values() if value is not None]
    if any(e.value not in read_back for e in entities):
        return None
    rest, cut = "", 0
    for e in sorted(entities, key=lambda e: e.start):
        rest, cut = rest + said.text[cut:e.start] + " ", max(cut, e.end)
    rest += said.text[cut:]
    for value in read_back:  # a name the extractor did not mark (no cue before it): 就是他 刘洋
        if isinstance(value, str) and len(value) >= 2:
            rest = re.sub(rf"(?<![a-z]){re.escape(value)}(?![a-z])", " ", rest, flags=re.IGNORECASE)
    return explicit_yes(ctx, rest, flow) if rest != said.text else None


def _offer_answer(ctx: TurnContext, flow: Flow, said: Utterance) -> bool:
    """Yes or no to an offer (replacement card, receipt); "要打印" answers "shall I print?" with the action."""
    nlu = said.nlu
    wants = nlu.intent in (DialogAct.INFORM, DialogAct.OUT_OF_SCOPE) and plugin_for(flow.name).wants_offer(nlu)
    answer = DialogAct.AFFIRM.value if wants else str(nlu.intent)
    answer = DialogAct.DENY.value if answer == DialogAct.CANCEL else answer
    if answer not in (DialogAct.AFFIRM, DialogAct.DENY):
        # A yes/no question answered in other words ("no replacement for now, thanks"): the offer's
        # context decides, from phrase lists in dialogs/dialog.yaml; refusals first.
        if ctx.phrases.matches("decline_offer", said.text):
            answer = DialogAct.DENY
        elif ctx.phrases.matches("accept_offer", said.text):
            answer = DialogAct.AFFIRM
    if answer not in (DialogAct.AFFIRM, DialogAct.DENY):
        return False
    flow.fire(Trigger.AFFIRM if answer == DialogAct.AFFIRM else Trigger.DENY)
    progress(ctx)
    return True


def _slot_answer(ctx: TurnContext, flow: Flow, said: Utterance) -> None:
    # While a question is open, an answer to it fills only unanswered slots: a misheard number ("24 hour"
    # heard as "20") must not silently replace an amount already given. An utterance that does not answer
    # the question may correct an earlier answer (asked for the account, the customer repeats the payee).
    kind, nlu, plugin = flow.spec.kind, said.nlu, plugin_for(flow.name)
    filled, problems = fill_slots(ctx, flow, nlu, only_missing=kind is StateKind.COLLECT)
    if kind is StateKind.COLLECT and not problems and not set(filled) & set(flow.spec.slots):
        filled, problems = fill_slots(ctx, flow, nlu)
    if not filled:
        for source in (plugin.answers_in_words, plugin.bare_answer if not problems else None):
            values = source(ctx, flow, said.text) if source is not None and kind is StateKind.COLLECT else {}
            if values:
                flow.slots.update(values)
                filled = list(values)
                mark_filled(ctx, flow, filled)
                break
    for problem in problems[:1]:
        ctx.say(problem.key(ctx.services.prompts), **problem.values)
    if not filled:
        if not problems and kind is StateKind.CONFIRM and ctx.phrases.matches("says_wrong", said.text):
            ctx.session.pending = Pending(Awaiting.WHAT_TO_CHANGE)  # "不对 我说的是上个月": what, then?
            ctx.say("repair.what_to_change")
        elif not problems and kind is StateKind.CONFIRM:
            unclear_read_back(ctx, flow)
        elif not problems and not propose_default(ctx, flow) and not (
                (nlu.intent == DialogAct.OUT_OF_SCOPE or ctx.is_question(said.text))
                and knowledge.answer_question(ctx, said.text, in_flow=True)):
            repair.no_match(ctx)
        return
    if kind is StateKind.CONFIRM:
        for fact in ("confirmed_at", "confirmation", "unclear_answers"):
            flow.facts.pop(fact, None)
        flow.fire(Trigger.REVISE)
    progress(ctx)

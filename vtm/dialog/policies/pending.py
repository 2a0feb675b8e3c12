"""The answer to what the kiosk is waiting for besides a slot: cancel?, a warning, a person?, an offer, a device,
the gate's own question."""

from __future__ import annotations

from vtm.dialog import repair
from vtm.dialog.acts import DialogAct
from vtm.dialog.consent import explicit_yes, take_default
from vtm.dialog.context import TurnContext
from vtm.dialog.engine import advance, cancel_flow, start_flow
from vtm.dialog.policies import Utterance
from vtm.dialog.session import DEVICE_PROMPTS, Awaiting, Pending
from vtm.dialog.values import ask_values
from vtm.dialog.verification import answer_face_consent, offer_face_if_asked

__all__ = ["pending_answer"]


def pending_answer(ctx: TurnContext, said: Utterance) -> bool:
    pending = ctx.session.pending
    if pending is None:
        return False
    handler = _HANDLERS.get(pending.awaiting)
    if handler is not None:
        return handler(ctx, said, pending)
    if pending.awaiting in DEVICE_PROMPTS:
        return _device(ctx, said, pending)
    return False


def _yes_no(said: Utterance) -> tuple[bool, bool]:
    intent = said.nlu.intent
    return intent == DialogAct.AFFIRM, intent in (DialogAct.DENY, DialogAct.CANCEL)


def _cancel_confirm(ctx: TurnContext, said: Utterance, _pending: Pending) -> bool:
    session = ctx.session
    session.pending = None
    if session.flow is None or session.flow.finished:
        return False  # the transaction ended meanwhile (a verdict, a device): nothing left to cancel
    intent = said.nlu.intent
    if ctx.phrases.matches("keep_going", said.text):
        yes, no = False, True
    else:
        yes, no = intent in (DialogAct.AFFIRM, DialogAct.CANCEL), intent == DialogAct.DENY
    if yes:
        cancel_flow(ctx)
    elif no:
        ctx.say("repair.cancel_kept", title=ctx.title(ctx.flow_required()))
        advance(ctx)
    else:
        return False
    return True


def _acknowledge(ctx: TurnContext, said: Utterance, pending: Pending) -> bool:
    session = ctx.session
    if ctx.services.confirmation.acknowledges(said.text, session.lang) is not None:  # never a mumble
        session.acknowledged.update(pending.detail["keys"])
        session.pending = None
        advance(ctx)
    elif _yes_no(said)[1]:
        session.pending = None
        cancel_flow(ctx)
    else:
        ctx.say("repair.ack_needed")
    return True


def _handoff_confirm(ctx: TurnContext, said: Utterance, pending: Pending) -> bool:
    session = ctx.session
    session.pending = None
    yes, no = _yes_no(said)
    if yes:
        repair.handoff(ctx, "handoff.start", reason=pending.detail.get("reason", "repair"))
        return True
    session.no_match_count = session.silence_count = 0
    if no:
        repair.reprompt(ctx)
        return True
    return False


def _face_consent(ctx: TurnContext, said: Utterance, _pending: Pending) -> bool:
    yes, no = _yes_no(said)
    if yes or no:
        answer_face_consent(ctx, yes)
        return True
    return False


def _offer_transaction(ctx: TurnContext, said: Utterance, pending: Pending) -> bool:
    ctx.session.pending = None
    yes, no = _yes_no(said)
    if yes or explicit_yes(ctx, said.text, None) is not None:
        start_flow(ctx, pending.detail["transaction"], said.nlu)
    elif no:
        ctx.say("session.anything_else")
    else:
        return False
    return True


def _proposal(ctx: TurnContext, said: Utterance, pending: Pending) -> bool:
    ctx.session.pending = None
    flow = ctx.session.flow
    if flow is None or pending.detail["slot"] not in flow.missing_slots():
        return False  # the transaction moved on (or another one runs now): an ordinary answer
    slot = flow.definition.slot(pending.detail["slot"])
    yes, no = _yes_no(said)
    if yes or explicit_yes(ctx, said.text, None) is not None:
        take_default(ctx, flow, slot)
    elif no:
        ctx.say(slot.prompt, **ask_values(ctx, flow))
    else:
        return False  # an answer in other words: handled as an answer to the question itself
    return True


ANSWER_MAX_CHARS = 500  # the gate's context keeps at most this much of the answer (Slots fields)


def _gate_question(ctx: TurnContext, said: Utterance, pending: Pending) -> bool:
    """The customer's own words answer the gate's question ("what is the money for?"); the checkpoint is
    judged again with them. A bare "ok" is asked once more, "why do you ask?" hears why first; whatever
    comes next is the answer (the words of every turn reach the fraud checks in any case)."""
    session, flow = ctx.session, ctx.session.flow
    if flow is None or flow.finished:
        session.pending = None
        return False
    detail = pending.detail
    if not detail.get("asked_again"):
        why = ctx.phrases.matches("why_asked", said.text)
        if why or ctx.services.confirmation.acknowledges(said.text, session.lang):
            detail["asked_again"] = True
            if why:
                ctx.say("gate.question_why")
            for key in detail["keys"]:
                ctx.say(key)
            return True
    session.pending = None
    answers = flow.facts.setdefault("answers", {})
    for name in detail["fields"]:
        answers[name] = said.text[:ANSWER_MAX_CHARS]
    advance(ctx)
    return True


def _what_to_change(ctx: TurnContext, _said: Utterance, _pending: Pending) -> bool:
    ctx.session.pending = None
    return False  # the answer is an ordinary slot answer in the confirm state


def _device(ctx: TurnContext, said: Utterance, pending: Pending) -> bool:
    if offer_face_if_asked(ctx, said.text):
        return True
    txn = ctx.services.transaction_for_intent(said.nlu.intent)
    flow = ctx.session.flow
    if txn is not None and flow is not None and txn != flow.name:
        return False  # a digression may start before the verification
    ctx.say(DEVICE_PROMPTS[pending.awaiting])
    return True


_HANDLERS = {
    Awaiting.CANCEL_CONFIRM: _cancel_confirm,
    Awaiting.ACKNOWLEDGE: _acknowledge,
    Awaiting.HANDOFF_CONFIRM: _handoff_confirm,
    Awaiting.FACE_CONSENT: _face_consent,
    Awaiting.OFFER_TRANSACTION: _offer_transaction,
    Awaiting.PROPOSAL: _proposal,
    Awaiting.WHAT_TO_CHANGE: _what_to_change,
    Awaiting.GATE_QUESTION: _gate_question,
}

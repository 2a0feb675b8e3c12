"""Requests and questions outside a running answer: a follow-up to the last transaction, "how do I X",
a new transaction (a digression inside another one), and the idle kiosk's questions and remarks."""

from __future__ import annotations

from vtm.dialog import knowledge, repair
from vtm.dialog.acts import DialogAct
from vtm.dialog.context import TurnContext
from vtm.dialog.engine import new_flow, progress, start_flow
from vtm.dialog.policies import Utterance
from vtm.dialog.policies.flow_input import answers_open_question
from vtm.dialog.slots import fill_slots

__all__ = ["follow_up", "how_to", "idle", "start_transaction"]


def follow_up(ctx: TurnContext, said: Utterance) -> bool:
    """Right after a transaction, "打印出来吧" (a new value for one of its ``follow_up_slots``) does it again
    with that value and the others kept."""
    session = ctx.session
    done = session.transactions_done
    definition = ctx.services.definitions.get(done[-1]) if done and session.flow is None else None
    if definition is None or not definition.follow_up_slots:
        return False
    wanted = ctx.services.transaction_for_intent(said.nlu.intent)
    if wanted is not None and wanted != definition.name:
        return False  # a request for another transaction
    flow = new_flow(ctx, definition.name, dict(session.finished_slots.get(definition.name, {})))
    before = dict(flow.slots)
    filled, problems = fill_slots(ctx, flow, said.nlu)
    changed = [name for name in filled if flow.slots.get(name) != before.get(name)]
    if problems or not changed or not set(changed) <= set(definition.follow_up_slots):
        return False
    session.flow, session.pending = flow, None
    ctx.say("repair.follow_up", title=ctx.title(flow))
    progress(ctx)
    return True


def how_to(ctx: TurnContext, said: Utterance) -> bool:
    """"怎么挂失？": a one-sentence answer and the offer to do it now (not for "how much do I have?",
    which is the request itself: ``question_is_request``)."""
    wanted = ctx.services.transaction_for_intent(said.nlu.intent)
    if wanted is None or ctx.session.flow is not None or ctx.services.definitions[wanted].question_is_request:
        return False
    asks = ctx.phrases.matches("how_to_cues", said.text) or ctx.is_question(said.text)
    return asks and knowledge.answer_question(ctx, said.text, offer=wanted, quiet_decline=True)


def start_transaction(ctx: TurnContext, said: Utterance) -> bool:
    wanted = ctx.services.transaction_for_intent(said.nlu.intent)
    answer = DialogAct.INFORM in (said.nlu.intent, said.nlu.best_guess)  # an answer, or most likely one
    if wanted is None and answer and ctx.session.flow is None and ctx.session.pending is None:
        # "转给李娜" with nothing asked: the answer is the request. Not for the transaction just
        # done: a value it already had is a remark about it (follow_up handles a new one).
        wanted = _only_taker(ctx, said)
        if wanted is not None and ctx.session.transactions_done[-1:] == [wanted]:
            wanted = None
    flow = ctx.session.flow
    if wanted is None or (flow is not None and (flow.name == wanted or answers_open_question(ctx, flow, said))):
        return False
    start_flow(ctx, wanted, said.nlu)
    return True


def _only_taker(ctx: TurnContext, said: Utterance) -> str | None:
    """The one transaction whose slots take every value the words carry, if exactly one does."""
    carried = {entity.name for entity in said.nlu.slots if entity.valid}
    if not carried:
        return None
    takers = [
        name for name, definition in ctx.services.definitions.items()
        if carried <= {entity for spec in definition.slots for entity in ctx.services.slot_types.get(spec.type, ())}
    ]
    return takers[0] if len(takers) == 1 else None


def idle(ctx: TurnContext, said: Utterance) -> bool:
    if ctx.session.flow is not None:
        return False
    nlu, text = said.nlu, said.text
    question = ctx.is_question(text)
    if (nlu.intent == DialogAct.OUT_OF_SCOPE or question) \
            and knowledge.answer_question(ctx, text, quiet_decline=not question):
        return True  # a question it cannot answer offers a person; a remark it cannot place is a plain miss
    if nlu.intent == DialogAct.GREETING:
        ctx.say("session.greeting")
    elif nlu.intent in (DialogAct.DENY, DialogAct.GOODBYE) or ctx.phrases.matches("nothing_else", text):
        repair.end_session(ctx)
    elif (nlu.intent == DialogAct.AFFIRM or ctx.phrases.matches("more_to_do", text)) \
            and any(key == "session.anything_else" for key, _ in ctx.session.last_prompts):
        ctx.say("session.what_else")  # "还有" / "yes, one more thing" to "anything else?": what is it?
    else:
        repair.no_match(ctx)
    return True

"""Self-service answers in the conversation: a banking question gets the knowledge base's answer.

At idle an answer is spoken (two sentences at most; the full text goes to the screen and the
transcript) and, when the entry relates to a transaction the kiosk does, the kiosk offers to do it
now. Inside a transaction a question is a digression: answered, then the open question is asked
again. A question the base cannot answer is never guessed at: at idle the customer is offered a
person; inside a transaction it counts as a miss. A short follow-up ("那跨行呢？", "and for other
banks?") is asked together with the previous question. Every answer first passes the gate's
``knowledge.answer`` checkpoint, so a bank can forbid topics by policy.

Functions of the :class:`~vtm.dialog.context.TurnContext`, like :mod:`vtm.dialog.repair`.
"""

from __future__ import annotations

from vtm.compliance.context import GateContext, Slots
from vtm.compliance.verdict import Outcome
from vtm.dialog import repair
from vtm.dialog.context import TurnContext
from vtm.dialog.gate_context import session_facts
from vtm.dialog.session import Awaiting, Pending

__all__ = ["answer_question"]

CHECKPOINT = "knowledge.answer"


def _topic(entry_id: str) -> str:
    return entry_id.split(".", 1)[0]


def answer_question(ctx: TurnContext, text: str, *, offer: str | None = None, in_flow: bool = False,
                    quiet_decline: bool = False) -> bool:
    """Answer ``text`` from the knowledge base. False (nothing said) when there is no base, or it declines
    inside a flow or with ``quiet_decline`` (the caller then goes on as if no question was asked).

    ``offer``: the transaction the customer's words point at ("怎么挂失"); offered after the answer.
    """
    kb = ctx.services.knowledge
    if kb is None:
        return False
    session = ctx.session
    question = text
    if session.last_question and ctx.services.phrases.matches("follow_up_question", text) and len(text) <= 40:
        question = f"{session.last_question} {text}"  # "那跨行呢？" only means something after the last answer
    result = kb.ask(question, session.lang)
    record = ctx.record_operation(
        "knowledge", result.entry_id, "answered" if result.answered else "declined", score=round(result.score, 3),
        question=text, asked=question, lang=result.lang, screen=result.screen,
        candidates=[{"entry": c.entry_id, "score": round(c.score, 3)} for c in result.candidates[:3]])
    if not result.answered or result.entry_id is None:
        if in_flow or quiet_decline:
            return False
        session.last_question = None
        ctx.say_text("knowledge.declined", result.spoken)
        session.pending = Pending(Awaiting.HANDOFF_CONFIRM, {"reason": "knowledge_declined"})
        return True
    refusal = _refusal(ctx, result.entry_id)
    if refusal is not None:
        record["result"] = "refused_by_policy"
        for key in refusal or ["compliance.knowledge.topic_forbidden"]:
            ctx.say(key)
        return True
    session.last_question = question
    ctx.say_text("knowledge.answer", result.spoken)
    flow = session.flow
    if in_flow and flow is not None:
        ctx.say("repair.resume", title=flow.definition.title[session.lang])
        repair.reprompt(ctx)
        return True
    offer = offer or result.transaction  # the entry's own transaction: "proactive service", the next step
    if offer is not None and offer in ctx.services.definitions:
        session.pending = Pending(Awaiting.OFFER_TRANSACTION, {"transaction": offer})
        ctx.say("knowledge.offer", title=ctx.services.definitions[offer].title[session.lang])
    return True


def _refusal(ctx: TurnContext, entry_id: str) -> list[str] | None:
    """None when the gate lets the kiosk answer; otherwise the prompts that say why not."""
    session = ctx.session
    gate_ctx = GateContext(
        session=session_facts(session, ctx.now()),
        transaction="knowledge",
        slots=Slots(topic=f"{_topic(entry_id)}:{entry_id}"),
    )
    verdict = ctx.services.gate.check(CHECKPOINT, gate_ctx)
    return None if verdict.outcome in (Outcome.ALLOW, Outcome.WARN) else list(verdict.prompt_keys)

"""Self-service answers in the conversation: a banking question gets the knowledge base's answer.

At idle an answer is spoken (two sentences at most; the full text goes to the screen and the
transcript) and, when the entry relates to a transaction the kiosk does, the kiosk offers to do it
now. Inside a transaction a question is a digression: answered, then the open question is asked
again. A question the base cannot answer is never guessed at: at idle the customer is offered a
person; inside a transaction it counts as a miss. A short follow-up ("那跨行呢？", "and for other
banks?") is asked together with the previous question. Every answer first passes the gate's
``knowledge.answer`` checkpoint, so a bank can forbid topics by policy.

Functions of the :class:`~vtm.dialog.manager.DialogManager`, like :mod:`vtm.dialog.repair`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from vtm.compliance.context import GateContext, Slots
from vtm.compliance.verdict import Outcome
from vtm.dialog.gate_context import session_facts
from vtm.dialog.session import Awaiting, Pending

if TYPE_CHECKING:
    from vtm.dialog.manager import DialogManager
    from vtm.knowledge import Answer, Decline

__all__ = ["KnowledgeAnswers", "answer_question"]

CHECKPOINT = "knowledge.answer"


class KnowledgeAnswers(Protocol):
    """What the dialog needs of the knowledge base (:class:`vtm.knowledge.KnowledgeBase` fits)."""

    def ask(self, text: str, lang: str | None = None) -> Answer | Decline: ...


def _topic(entry_id: str) -> str:
    return entry_id.split(".", 1)[0]


def answer_question(dm: DialogManager, text: str, *, offer: str | None = None, in_flow: bool = False,
                    quiet_decline: bool = False) -> bool:
    """Answer ``text`` from the knowledge base. False (nothing said) when there is no base, or it declines
    inside a flow or with ``quiet_decline`` (the caller then goes on as if no question was asked).

    ``offer``: the transaction the customer's words point at ("怎么挂失"); offered after the answer.
    """
    kb = dm.services.knowledge
    if kb is None:
        return False
    session = dm.session
    question = text
    if session.last_question and dm.services.phrases.matches("follow_up_question", text) and len(text) <= 40:
        question = f"{session.last_question} {text}"  # "那跨行呢？" only means something after the last answer
    result = kb.ask(question, session.lang)
    record = {"operation": "knowledge", "key": result.entry_id, "result": "answered" if result.answered
              else "declined", "score": round(result.score, 3), "question": text, "screen": result.screen}
    dm.current_record.operations.append(record)
    if not result.answered or result.entry_id is None:
        if in_flow or quiet_decline:
            return False
        session.last_question = None
        dm.say_text("knowledge.declined", result.spoken)
        session.pending = Pending(Awaiting.HANDOFF_CONFIRM, {"reason": "knowledge_declined"})
        return True
    refusal = _refusal(dm, result.entry_id)
    if refusal is not None:
        record["result"] = "refused_by_policy"
        for key in refusal or ["compliance.knowledge.topic_forbidden"]:
            dm.say(key)
        return True
    session.last_question = question
    dm.say_text("knowledge.answer", result.spoken)
    flow = session.flow
    if in_flow and flow is not None:
        dm.say("repair.resume", title=flow.definition.title[session.lang])
        dm.repeat_question()
        return True
    offer = offer or result.transaction  # the entry's own transaction: "proactive service", the next step
    if offer is not None and offer in dm.services.definitions:
        session.pending = Pending(Awaiting.OFFER_TRANSACTION, {"transaction": offer})
        dm.say("knowledge.offer", title=dm.services.definitions[offer].title[session.lang])
    return True


def _refusal(dm: DialogManager, entry_id: str) -> list[str] | None:
    """None when the gate lets the kiosk answer; otherwise the prompts that say why not."""
    session = dm.session
    ctx = GateContext(
        session=session_facts(session, dm.now()),
        transaction="knowledge",
        slots=Slots(topic=f"{_topic(entry_id)}:{entry_id}"),
    )
    verdict = dm.gate.check(CHECKPOINT, ctx)
    return None if verdict.outcome in (Outcome.ALLOW, Outcome.WARN) else list(verdict.prompt_keys)

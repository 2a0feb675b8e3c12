"""Which knowledge entry answered a customer's question, read from a recorded session.

:mod:`vtm.dialog.knowledge` records every question it puts to the knowledge base as an operation
of the turn, already masked by the session store::

    {"operation": "knowledge", "key": "cards.frozen", "result": "answered", "score": 0.906,
     "question": "我的卡被冻结了怎么办", "asked": "我的卡被冻结了怎么办", "lang": "zh", "screen": "...",
     "candidates": [{"entry": "cards.frozen", "score": 0.906}, ...]}

``key`` is the entry id (None on a decline), ``result`` one of
:class:`~vtm.records.answer_marks.KnowledgeOutcome`, ``score`` the best entry's fused score. The
topic is the entry id's first part, the rule the dialog's own gate check uses
(``cards.frozen`` -> ``cards``).

``asked`` is what the base was asked: a short follow-up ("那跨行呢？") goes together with the previous
question, and that full question is the test case. ``lang`` is the language it was asked in; records
written before it was kept fall back to the question's own language (:func:`vtm.nlu.normalize.detect_lang`,
the session's when the text does not tell).

An operation whose ``result`` is not a known outcome is not read as an answer here; the timeline
still shows it as a plain operation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vtm.nlu.normalize import detect_lang
from vtm.nlu.types import Lang
from vtm.records.answer_marks import KnowledgeOutcome
from vtm.records.views import SessionDetail

__all__ = ["KnowledgeAnswer", "find_answer", "knowledge_answers"]

_OPERATION = "knowledge"


@dataclass(frozen=True)
class KnowledgeAnswer:
    """One question put to the knowledge base in one turn, and what came of it."""

    turn_no: int
    position: int  # index among the turn's operations
    outcome: KnowledgeOutcome
    entry_id: str | None  # None: no entry (declined)
    score: float | None
    question: str  # masked, as recorded
    lang: Lang

    @property
    def topic(self) -> str | None:
        return None if self.entry_id is None else self.entry_id.split(".", 1)[0]

    @property
    def declined(self) -> bool:
        return self.outcome is KnowledgeOutcome.DECLINED


def _answer(turn_no: int, position: int, op: Mapping[str, Any], session_lang: str) -> KnowledgeAnswer | None:
    result = op.get("result")
    if op.get("operation") != _OPERATION or result not in set(KnowledgeOutcome):
        return None
    outcome = KnowledgeOutcome(result)
    key, score = op.get("key"), op.get("score")
    question = op.get("asked") if isinstance(op.get("asked"), str) and op.get("asked") else op.get("question")
    text = question if isinstance(question, str) else ""
    recorded = op.get("lang")
    default: Lang = "en" if session_lang == "en" else "zh"
    return KnowledgeAnswer(
        turn_no=turn_no,
        position=position,
        outcome=outcome,
        entry_id=key if isinstance(key, str) and key else None,
        score=float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None,
        question=text,
        lang=recorded if recorded in ("zh", "en") else detect_lang(text, default=default),
    )


def knowledge_answers(detail: SessionDetail) -> dict[int, dict[int, KnowledgeAnswer]]:
    """The session's knowledge answers: turn number -> position in the turn -> answer."""
    found: dict[int, dict[int, KnowledgeAnswer]] = {}
    for turn in detail.turns:
        for position, op in enumerate(turn.operations):
            answer = _answer(turn.turn_no, position, op, detail.summary.lang) if isinstance(op, dict) else None
            if answer is not None:
                found.setdefault(turn.turn_no, {})[position] = answer
    return found


def find_answer(detail: SessionDetail, turn_no: int, position: int) -> KnowledgeAnswer | None:
    """The knowledge answer at ``position`` of turn ``turn_no``, or None when there is none."""
    return knowledge_answers(detail).get(turn_no, {}).get(position)

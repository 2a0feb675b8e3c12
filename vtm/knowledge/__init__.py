"""Self-service answers (自助应答): the bank's question-and-answer entries, retrieved with a calibrated decline.

Content lives in ``knowledge/`` (see ``docs/knowledge.md``); figures in answers are read from
the policy pack and dialog settings at load, so an answer never disagrees with what the kiosk does.

Usage::

    kb = KnowledgeBase.load(settings.content_root, settings.models_path, encoder=shared_e5)
    result = kb.ask("临时挂失能管几天", "zh")
    if result.answered:        # Answer: entry_id, score, spoken, screen, transaction
        ...
    else:                      # Decline: offers a colleague
        ...
"""

from vtm.knowledge.base import KnowledgeBase
from vtm.knowledge.dense import SentenceEncoder
from vtm.knowledge.errors import ContentProblem, EvaluationFileError, KnowledgeContentError, KnowledgeError
from vtm.knowledge.loader import Entry, KnowledgeContent, load_knowledge
from vtm.knowledge.results import Answer, Candidate, Decline

__all__ = [
    "Answer",
    "Candidate",
    "ContentProblem",
    "Decline",
    "Entry",
    "EvaluationFileError",
    "KnowledgeBase",
    "KnowledgeContent",
    "KnowledgeContentError",
    "KnowledgeError",
    "SentenceEncoder",
    "load_knowledge",
]

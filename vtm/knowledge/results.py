"""What :meth:`KnowledgeBase.ask` returns: an :class:`Answer` from an entry, or a :class:`Decline`.

Both carry the text to speak and the text to show in the customer's language, the fused score
of the best entry and the ranked candidates (for the session record and the review app).
A decline never carries an entry's answer: the kiosk offers a colleague instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vtm.knowledge.models import Grade
from vtm.nlu.types import Lang

__all__ = ["Answer", "Candidate", "Decline"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One ranked entry with the scores that placed it (all in 0..1)."""

    entry_id: str
    score: float
    dense: float
    lexical: float


@dataclass(frozen=True, slots=True)
class Answer:
    """An entry close enough to answer with.

    ``transaction`` names the transaction the dialog may offer next (e.g. ``card_loss``).
    """

    entry_id: str
    score: float
    lang: Lang
    spoken: str
    screen: str
    transaction: str | None
    grade: Grade
    candidates: tuple[Candidate, ...]
    answered: Literal[True] = True


@dataclass(frozen=True, slots=True)
class Decline:
    """No entry is close enough: say so and offer a colleague (never a guessed answer)."""

    score: float
    lang: Lang
    spoken: str
    screen: str
    candidates: tuple[Candidate, ...]
    entry_id: None = None
    answered: Literal[False] = False

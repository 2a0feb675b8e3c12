"""Closed-set slots from the lexicon: ``delivery``, ``loss_kind``, ``arrival``, ``language``.

Each phrase list lives in ``dialogs/nlu/lexicon/choices.yaml``; a phrase marked weak there
("看一下" - "have a look" - is said about many things) yields a lower confidence.
"""

from __future__ import annotations

import re

from vtm.nlu.entities._base import make_entity
from vtm.nlu.entities.lexicon import Lexicon, PhraseMatcher
from vtm.nlu.normalize import Normalized
from vtm.nlu.types import Entity, SlotName

__all__ = ["find_choices"]

_WEAK_CONFIDENCE = 0.6


# "我听不懂英文 说中文", "I don't speak Chinese, English please": the language after a negation
# is the one the customer does *not* want.
_NEGATED_BEFORE = re.compile(
    r"(?:不懂|不会|不要|不用|不是|不说|别说|别用|don't (?:speak|understand|want)|"
    r"doesn't (?:speak|understand)|do not (?:speak|understand)|not|no)\s?$"
)
_NEGATED_AFTER = re.compile(r"^\s?(?:isn't|is not|is bad|is poor|is not good|to me)")


def _negated(norm: Normalized, start: int, end: int) -> bool:
    phrase, before, after = norm.text[start:end], norm.text[max(0, start - 20) : start], norm.text[end:]
    if phrase.startswith(("说", "讲", "用", "speak", "in ")):
        return False  # "我听不懂 说普通话": the request itself, whatever was said before it
    return bool(_NEGATED_BEFORE.search(before) or _NEGATED_AFTER.match(after))


def _find(norm: Normalized, name: SlotName, matcher: PhraseMatcher) -> list[tuple[int, int, Entity]]:
    out = []
    for start, end, value, weak in matcher.finditer(norm.text):
        entity = make_entity(norm, name, value, start, end, confidence=_WEAK_CONFIDENCE if weak else 1.0)
        out.append((start, end, entity))
    return out


def find_choices(norm: Normalized, lex: Lexicon) -> list[Entity]:
    """Delivery, loss kind, arrival and language phrases in ``norm``.

    Where phrases of two families overlap, the longer wins: 普通话 is a language, not the
    普通 (standard) of arrival.
    """
    c = lex.choices
    found = [
        *_find(norm, SlotName.DELIVERY, c.delivery),
        *_find(norm, SlotName.LOSS_KIND, c.loss_kind),
        *_find(norm, SlotName.ARRIVAL, c.arrival),
        *_find(norm, SlotName.LANGUAGE, c.language),
    ]
    return [
        e
        for s, t, e in found
        if not any(s2 <= s and t <= t2 and (t2 - s2) > (t - s) for s2, t2, _ in found)
        and not (e.name is SlotName.LANGUAGE and _negated(norm, s, t))
    ]

"""Rule-based entity (slot) extraction over normalised text.

``extract_entities(text, lang, today)`` normalises the utterance, runs every extractor and
returns the entities sorted by position, with spans pointing into the *original* text. Rules
are used where rules are exact (numbers, dates, checksums, closed sets); open-ended names are
covered for the cued cases and left to the model otherwise.

Never raises on any string; deterministic; well under 5 ms per utterance.

Usage::

    from datetime import date
    from vtm.nlu.entities import extract_entities

    for e in extract_entities("给张三转两千块", "zh", today=date(2024, 5, 15)):
        print(e.name, e.value, e.text)      # payee_name 张三 张三 / amount 2000 两千块
"""

from __future__ import annotations

import re
from datetime import date

from vtm.nlu.entities.amount import find_amounts
from vtm.nlu.entities.choices import find_choices
from vtm.nlu.entities.dates import find_date_ranges
from vtm.nlu.entities.digits import find_digit_strings, find_last4
from vtm.nlu.entities.lexicon import Lexicon, LexiconError, default_lexicon, load_lexicon
from vtm.nlu.entities.names import find_banks, find_payee_aliases, find_payee_names
from vtm.nlu.normalize import Normalized, normalize
from vtm.nlu.types import Entity, Lang, SlotName

__all__ = ["Lexicon", "LexiconError", "extract_entities", "extract_from", "load_lexicon", "payee_name_in_answer"]

_MAX_CHARS = 500  # a spoken turn is far shorter; only the start of anything longer is read


def extract_from(norm: Normalized, today: date, lexicon: Lexicon | None = None) -> list[Entity]:
    """Entities of an already normalised utterance (for callers that also need ``norm.text``)."""
    lex = lexicon or default_lexicon()
    last4 = find_last4(norm)
    digit_strings = [e for e in find_digit_strings(norm) if not _inside(e, last4)]
    numbers = [*last4, *digit_strings]
    dates = find_date_ranges(norm, today)
    amounts = [e for e in find_amounts(norm) if not _inside(e, numbers) and not _inside(e, dates)]
    entities = [
        *numbers,
        *amounts,
        *dates,
        *find_payee_names(norm, lex),
        *find_payee_aliases(norm, lex),
        *find_banks(norm, lex),
        *find_choices(norm, lex),
    ]
    return sorted(_dedupe(entities), key=lambda e: (e.start, e.end, e.name))


def extract_entities(
    text: str, lang: Lang | None, today: date, lexicon: Lexicon | None = None
) -> list[Entity]:
    """Normalise ``text`` and return its entities, sorted by position in ``text``."""
    return extract_from(normalize(text[:_MAX_CHARS], lang), today, lexicon)


def _inside(entity: Entity, others: list[Entity]) -> bool:
    return any(o.start < entity.end and entity.start < o.end for o in others)


def _dedupe(entities: list[Entity]) -> list[Entity]:
    seen: set[tuple[SlotName, int, int]] = set()
    out = []
    for e in entities:
        key = (e.name, e.start, e.end)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


_SPELLED = re.compile(r"(?<![A-Za-z])(?:[A-Za-z][\s,.-]+){2,}[A-Za-z](?![A-Za-z])")  # "L I U", "O-L-U-W-A"
_PIECE = re.compile(r"[^\s,，。.!！?？;；、:：]+")
_CJK_CHAR = re.compile(r"[\u4e00-\u9fff]")
_EXPLAINED = re.compile(r"^(.).*的\1$")


def payee_name_in_answer(text: str, lang: Lang | None, lexicon: Lexicon | None = None) -> str | None:
    """The name in an answer to "who is it for?" that wraps it in remarks or spells it out.

    :func:`extract_entities` reads a whole turn strictly (a name needs a cue, or the turn to itself), so
    that ordinary words are never taken for names. Asked for a name, people say it between pauses with a
    remark around it: "陈志强 耳东陈 志气的志", "收钱的是房东 姓马 马建国", "嗯 赵 赵丽华", "zhang wei my
    colleague", "her name is liu fang L I U fang". The first piece between pauses (Mandarin) or run of three
    or two words (English) that is a name on its own is the answer; a spelling after the name is dropped,
    and so is a piece that explains a character (文刀刘 beside 刘洋, 海洋的洋).
    """
    lex = lexicon or default_lexicon()
    said = text[:_MAX_CHARS]
    spelled = _SPELLED.search(said)
    if spelled:
        said = said[: spelled.start()] if said[: spelled.start()].strip() else _SPELLED.sub(" ", said)
    words = _PIECE.findall(said)
    if _CJK_CHAR.search(said):
        # a character explained, not a name: 文刀刘 (beside 刘洋), 耳东陈, 海洋的洋
        pieces = [w for w in words if not any(o != w and o[0] == w[-1] for o in words) and not _EXPLAINED.match(w)]
    else:
        pieces = [" ".join(words[i : i + n]) for i in range(len(words)) for n in (3, 2) if i + n <= len(words)]
    for piece in pieces:
        norm = normalize(piece, lang)
        names = find_payee_names(norm, lex)
        if len(names) == 1 and names[0].text.casefold() == piece.casefold():
            return str(names[0].value)
    return None

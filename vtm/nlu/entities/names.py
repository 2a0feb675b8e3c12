"""``payee_name``, ``payee_alias`` and ``payee_bank``.

Chinese names: 2-4 characters after a cue (给, 转给, 转到, 汇给, 收款人是 ...), starting with a
known surname (one character, or a compound one such as 欧阳), ending where a verb or
particle begins (转, 汇, 的, 吧 ...). English names: one to three words after "to", "for",
"pay", "payee is", "name is"; capitalised in the original, or lowercase when none of them is
a common word. Relation words (我妈, my mom) become ``payee_alias`` with a canonical value, for
the saved-payee list. Banks come from the lexicon's aliases ("工行" -> ``ICBC``).

Names are open-ended; the model may do better here. These rules are precise rather than
complete: a name without a cue is left to the model.
"""

from __future__ import annotations

import re

from vtm.nlu.entities._base import make_entity
from vtm.nlu.entities.lexicon import Lexicon
from vtm.nlu.normalize import Normalized
from vtm.nlu.types import Entity, SlotName

__all__ = ["find_banks", "find_payee_aliases", "find_payee_names"]

_CJK = re.compile(r"[\u4e00-\u9fff]")
_EN_CUE = re.compile(
    r"(?<![a-z])(?:to|for|pay|payee is|payee|name is|recipient is|named|called|account holder is)\s+"
)
_EN_WORD = re.compile(r"[a-z][a-z'.-]*")
_NUMERAL_GIVEN = frozenset("一二三四五六七八九")
_AFTER_RELATION = re.compile(r"[\s,]*(?:叫|是|名叫|名字叫|named|called)?[\s,]*")
# Lowercase words after "to" are only taken for a name when the turn is about moving money.
_MONEY_CONTEXT = re.compile(r"transfer|send|pay|wire|remit|money|yuan|rmb|bucks|\d")
_EN_END_OK = re.compile(
    r"^(?:$|\s*[,.!?]|\s+(?:at|in|with|on|please|account|card|via|by|using|and|now|today|\d))"
)


def _zh_name(text: str, start: int, lex: Lexicon) -> str | None:
    """The name starting at ``start``, or ``None`` if what follows the cue is not a name."""
    if lex.banks.pattern.match(text, start) or lex.relations.pattern.match(text, start):
        return None  # 转到华夏银行, 给我妈: a bank or a relation, not a person's name
    chars = []
    for ch in text[start : start + 5]:
        if not _CJK.match(ch) or ch in lex.zh_name_stops:
            break
        chars.append(ch)
    # Placeholder-style names end in a numeral (王五, 赵六), which is also a stop character:
    # take it when what follows it ends the name.
    after = text[start + 2 : start + 3]
    if (
        len(chars) == 1
        and text[start + 1 : start + 2] in _NUMERAL_GIVEN
        and (
            not after
            or not _CJK.match(after)
            or after in lex.zh_name_stops
            or lex.banks.pattern.match(text, start + 2) is not None
        )
    ):
        chars.append(text[start + 1])
    name = "".join(chars)
    if name[:1] in "老小" and name[1:2] in lex.surnames:
        return name[:2]  # 老张, 小王
    if name[:2] in lex.compound_surnames:
        limit = 4
    elif name[:1] in lex.surnames:
        limit = 3
    else:
        return None
    name = name[:limit]
    return name if len(name) >= 2 else None


def _en_words(text: str, pos: int, lex: Lexicon) -> list[re.Match[str]]:
    """Up to three name-like words from ``pos``, stopping at a word that is never a name."""
    words: list[re.Match[str]] = []
    while len(words) < 3:
        w = _EN_WORD.match(text, pos)
        if not w or w.group().strip("'.-") in lex.en_not_names:
            break
        words.append(w)
        if text[w.end() : w.end() + 1] != " ":
            break
        pos = w.end() + 1
    return words


def _name_at(norm: Normalized, pos: int, lex: Lexicon, *, lowercase_ok: bool) -> Entity | None:
    """A Chinese or English name starting at ``pos`` of the normalised text, if there is one."""
    text = norm.text
    if lex.banks.pattern.match(text, pos) or lex.relations.pattern.match(text, pos):
        return None  # "a transfer to Postal Savings Bank", "给我妈"
    if _CJK.match(text[pos : pos + 1]):
        name = _zh_name(text, pos, lex)
        if name is None or name[:2] in lex.zh_not_names:
            return None
        return make_entity(norm, SlotName.PAYEE_NAME, name, pos, pos + len(name))
    return _best_en_name(norm, _en_words(text, pos, lex), money=lowercase_ok)


def find_payee_names(norm: Normalized, lex: Lexicon) -> list[Entity]:
    """Names of people to pay, in Chinese and English.

    A name follows a cue (给, 转给, 收款人是, to, pay ...) or a relation word ("我闺女 李红梅",
    "my daughter, Li Hongmei"); a lowercase English name is only taken after "to" / "pay" in a
    turn about money, since lowercase ASR output is otherwise ordinary words.
    """
    text = norm.text
    money = _MONEY_CONTEXT.search(text) is not None
    found: list[Entity] = []
    for m in lex.zh_cues.finditer(text):
        entity = _name_at(norm, m.end(), lex, lowercase_ok=False)
        if entity is not None:
            found.append(entity)
    for m in _EN_CUE.finditer(text):
        lowercase_ok = money and m.group().split()[0] in ("to", "pay", "payee")
        entity = _name_at(norm, m.end(), lex, lowercase_ok=lowercase_ok)
        if entity is not None:
            found.append(entity)
    for _start, end, _value, _weak in lex.relations.finditer(text):
        gap = _AFTER_RELATION.match(text, end)
        # "my friend Liu Yang", "我闺女李红梅": the name right after the relation word
        if gap and (gap.end() > end or _CJK.match(text[end : end + 1])):
            entity = _name_at(norm, gap.end(), lex, lowercase_ok=False)
            if entity is not None:
                found.append(entity)
    return _unique(found)


def _unique(entities: list[Entity]) -> list[Entity]:
    seen: set[tuple[int, int]] = set()
    out = []
    for e in entities:
        if (e.start, e.end) not in seen:
            seen.add((e.start, e.end))
            out.append(e)
    return out


def _best_en_name(norm: Normalized, words: list[re.Match[str]], *, money: bool) -> Entity | None:
    """The longest run of the words that reads as a name: capitalised as said, or followed by
    something that ends a name (end of turn, "at", "please", a number ...) in a turn about money."""
    text = norm.text
    for k in range(len(words), 0, -1):
        start, end = words[0].start(), words[k - 1].end()
        o_start, o_end = norm.span(start, end)
        capitalised = all(part[:1].isupper() for part in norm.original[o_start:o_end].split())
        if capitalised or (money and _EN_END_OK.match(text[end:])):
            value = " ".join(part.capitalize() for part in text[start:end].split())
            confidence = 0.9 if capitalised else 0.7  # lowercase ASR output could be ordinary words
            return make_entity(norm, SlotName.PAYEE_NAME, value, start, end, confidence=confidence)
    return None


def find_payee_aliases(norm: Normalized, lex: Lexicon) -> list[Entity]:
    """Relation words for saved payees: 我妈 / my mom -> ``mother``."""
    return [
        make_entity(norm, SlotName.PAYEE_ALIAS, value, start, end)
        for start, end, value, _weak in lex.relations.finditer(norm.text)
    ]


def find_banks(norm: Normalized, lex: Lexicon) -> list[Entity]:
    """Bank names and aliases -> canonical code (``ICBC``, ``OWN`` for the kiosk's own bank)."""
    return [
        make_entity(norm, SlotName.PAYEE_BANK, value, start, end)
        for start, end, value, _weak in lex.banks.finditer(norm.text)
    ]

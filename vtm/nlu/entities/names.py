"""``payee_name``, ``payee_alias`` and ``payee_bank``.

Chinese names: 2-4 characters starting with a known surname (one character, or a compound one
such as 欧阳), ending where a verb, particle or honorific begins (转, 的, 吧, 先生 ...). A name is
taken after a cue (给, 转给, 转账, 往, 收款人是, 是 ...), right after a relation word (我闺女李红梅),
or when a phrase of the turn is nothing but a name (the answer "王小明吧" to "who to?").

English names: one to three words after a cue ("to", "pay", "payee is", "it's" ...), or a whole
phrase that is only a name ("Zhang San"). Capitalised as said, they are taken; lowercase (most
ASR output) they are taken after an explicit name cue, after "to"/"pay" in a turn about money,
or when the first word is the pinyin of a Chinese surname ("li wei").

A name the customer takes back is dropped: 不是张三 是张珊 / "not Zhang San, Li Si".
Relation words (我妈, my mom) become ``payee_alias`` with a canonical value, for the saved-payee
list, never a name. Banks come from the lexicon's aliases ("工行" -> ``ICBC``).

Names are open-ended; these rules are precise rather than complete.
"""

from __future__ import annotations

import re
from functools import cache

from vtm.nlu.entities._base import make_entity
from vtm.nlu.entities.lexicon import Lexicon
from vtm.nlu.normalize import Normalized
from vtm.nlu.types import Entity, SlotName

__all__ = ["find_banks", "find_payee_aliases", "find_payee_names"]

_CJK = re.compile(r"[\u4e00-\u9fff]")
# Cues before an English name. Group "explicit": the words name a person, lowercase is fine.
_EN_CUE = re.compile(
    r"(?<![a-z'-])(?:(?P<explicit>payee is|payee|name is|name's|recipient is|recipient|named|called"
    r"|account holder is|account name is|account of)|(?P<money>to|pay)"
    r"|(?P<weak>for|it's|it is|this is|owe|give|send))\s+"
)
_EN_WORD = re.compile(r"[a-z][a-z'.-]*")
_NUMERAL_GIVEN = frozenset("一二三四五六七八九")
_AFTER_RELATION = re.compile(r"[\s,]*(?:叫|是|名叫|名字叫|named|called)?[\s,]*")
# Lowercase words after "to" are only taken for a name when the turn is about moving money.
_MONEY_CONTEXT = re.compile(r"transfer|send|pay|wire|remit|money|yuan|rmb|bucks|\d")
_EN_END_OK = re.compile(r"^(?:$|\s*[,.!?]|\s+(?:at|in|with|on|please|account|card|via|by|using|and|now|today|\d))")
# Words that follow a Chinese name and are not part of it (给张三先生转, 转给王小明同学).
_ZH_SUFFIXES = ("先生", "女士", "小姐", "同学", "师傅", "阿姨", "叔叔", "大哥", "大姐", "老师", "那边", "那里",
                "名下", "账上", "卡上", "户头", "一下", "过去")  # fmt: skip
# What may follow a name that stands alone as a phrase: particles, or "'s account".
_ZH_BARE_TAIL = re.compile(r"[吧呢啊呀哦嘛啦了]*(?:的(?:银行卡|账户|账号|卡|户头))?[吧呢啊呀哦嘛啦了]*$")
# Characters that end nouns, not given names: a phrase 高铁票 / 手续费 on its own is not a name.
_ZH_NOUN_ENDS = frozenset("票费款单号码机税息额务证件表店站场厅局所院校司区市省县镇村街楼层室门口户")
_ZH_BARE_HEAD = re.compile(r"^(?:就是|就|是|叫|对|嗯|那就|给)+")
# A name the customer takes back: 不是张三 / "not Zhang San".
# ... or the customer's own name, not a payee's: 我叫张三 / "my name is Zhang San".
_ZH_NEGATED = re.compile(
    r"(?:不是|不叫|不给|别给|不转给|不是给|不要给|不是转给|我是|我叫|本人是|本人叫|我的名字是|我的名字叫)\s*$"
)
_EN_NEGATED = re.compile(r"(?<![a-z])(?:not\s+(?:to\s+|for\s+)?|my name is\s+|my name's\s+|i am\s+)$")
# Phrases of an English turn, each of which may be a bare name ("no, not Zhang San, Li Si").
_EN_PHRASE = re.compile(r"[^,;.!?]+")
_EN_BARE_HEAD = re.compile(r"^\s*(?:(?:no|yes|oh|um|uh|sorry|it's|it is|the name is|name is|i mean|i said)\s+)*")
# Pinyin that is also a common English word: never taken as a lowercase surname.
_PINYIN_ENGLISH = frozenset({"an", "he", "you", "long", "sun", "fan", "pan", "man", "bo", "ban", "mi", "ding"})


# Surnames read differently from the character's everyday reading (曾 is "zeng" as a surname).
_SURNAME_READINGS = {"曾": "zeng", "单": "shan", "解": "xie", "查": "zha", "仇": "qiu", "翟": "zhai",
                     "覃": "qin", "缪": "miao", "尉迟": "yuchi", "长孙": "zhangsun"}  # fmt: skip


@cache
def _pinyin_surnames(surnames: frozenset[str], compounds: frozenset[str]) -> frozenset[str]:
    """The pinyin spellings of the lexicon's surnames ("wang", "ouyang")."""
    from pypinyin import lazy_pinyin  # its dictionaries take a while to load: only when needed

    out = {_SURNAME_READINGS.get(name) or "".join(lazy_pinyin(name)) for name in (*surnames, *compounds)}
    return frozenset(out - _PINYIN_ENGLISH)


def _zh_name(text: str, start: int, lex: Lexicon) -> str | None:
    """The name starting at ``start``, or ``None`` if what follows there is not a name."""
    if lex.banks.pattern.match(text, start) or lex.relations.pattern.match(text, start):
        return None  # 转到华夏银行, 给我妈: a bank or a relation, not a person's name
    compound = text[start : start + 2] in lex.compound_surnames
    chars = list(text[start : start + 2]) if compound else []
    for ch in text[start + len(chars) : start + 5]:
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
            or text.startswith(_ZH_SUFFIXES, start + 2)
            or lex.banks.pattern.match(text, start + 2) is not None
        )
    ):
        chars.append(text[start + 1])
    name = "".join(chars)
    for cut in range(2, len(name)):
        if name.startswith(_ZH_SUFFIXES, cut):
            name = name[:cut]  # 张三先生 -> 张三
            break
    if name[:2] in lex.zh_not_names:
        return None
    if name[:1] in "老小" and name[1:2] in lex.surnames:
        return name[:2]  # 老张, 小王
    if compound:
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
        if not w or _bare_word(w.group()) in lex.en_not_names:
            break
        words.append(w)
        if text[w.end() : w.end() + 1] != " ":
            break
        pos = w.end() + 1
    return words


def _bare_word(word: str) -> str:
    return word.removesuffix("'s").strip("'.-")


def _zh_entity(norm: Normalized, pos: int, lex: Lexicon) -> Entity | None:
    name = _zh_name(norm.text, pos, lex)
    if name is None or _ZH_NEGATED.search(norm.text, 0, pos):
        return None
    for cut in range(2, len(name)):
        # Normalisation joins "李 四"; a pause after two characters ends a name: 是张珊 珊瑚的珊.
        if norm.original[norm.span(pos, pos + cut)[1] : norm.span(pos + cut, pos + cut + 1)[0]].isspace():
            name = name[:cut]
            break
    return make_entity(norm, SlotName.PAYEE_NAME, name, pos, pos + len(name))


def _en_entity(norm: Normalized, pos: int, lex: Lexicon, *, lowercase_ok: bool) -> Entity | None:
    if lex.banks.pattern.match(norm.text, pos) or _EN_NEGATED.search(norm.text, 0, pos):
        return None  # "a transfer to Postal Savings Bank", "not to Zhang San"
    return _best_en_name(norm, _en_words(norm.text, pos, lex), lex, lowercase_ok=lowercase_ok)


def _name_at(norm: Normalized, pos: int, lex: Lexicon, *, lowercase_ok: bool) -> Entity | None:
    """A Chinese or English name starting at ``pos`` of the normalised text, if there is one."""
    if lex.relations.pattern.match(norm.text, pos):
        return None  # "给我妈", "to my mom"
    if _CJK.match(norm.text[pos : pos + 1]):
        return _zh_entity(norm, pos, lex)
    return _en_entity(norm, pos, lex, lowercase_ok=lowercase_ok)


def find_payee_names(norm: Normalized, lex: Lexicon) -> list[Entity]:
    """Names of people to pay, in Chinese and English.

    A name follows a cue (给, 转账, 收款人是, to, pay ...) or a relation word ("我闺女 李红梅",
    "my daughter, Li Hongmei"), or is a phrase of its own ("王小明", "Zhang San"). A lowercase
    English name needs an explicit cue, a money turn after "to"/"pay", or a pinyin surname,
    since lowercase ASR output is otherwise ordinary words.
    """
    text = norm.text
    money = _MONEY_CONTEXT.search(text) is not None
    found: list[Entity | None] = []
    for m in lex.zh_cues.finditer(text):
        found.append(_name_at(norm, m.end(), lex, lowercase_ok=False))
    for m in _EN_CUE.finditer(text):
        lowercase_ok = m.group("explicit") is not None or (money and m.group("money") is not None)
        found.append(_name_at(norm, m.end(), lex, lowercase_ok=lowercase_ok))
    for _start, end, _value, _weak in lex.relations.finditer(text):
        gap = _AFTER_RELATION.match(text, end)
        # "my friend Liu Yang", "我闺女李红梅": the name right after the relation word
        if gap and (gap.end() > end or _CJK.match(text[end : end + 1])):
            found.append(_name_at(norm, gap.end(), lex, lowercase_ok=False))
    found.extend(_bare_names(norm, lex))
    return _without_overlaps([e for e in found if e is not None])


def _bare_names(norm: Normalized, lex: Lexicon) -> list[Entity | None]:
    """Phrases that are nothing but a name: "王小明吧", "就是欧阳修", "Zhang San", "it's li si"."""
    text = norm.text
    out: list[Entity | None] = []
    for chunk in re.finditer(r"[\u4e00-\u9fff]+", text):
        head = _ZH_BARE_HEAD.match(chunk.group())
        pos = chunk.start() + (head.end() if head else 0)
        name = _zh_name(text, pos, lex)
        if name and name[-1] not in _ZH_NOUN_ENDS and _ZH_BARE_TAIL.match(text, pos + len(name), chunk.end()):
            out.append(_zh_entity(norm, pos, lex))
    if _CJK.search(text):
        return out
    for phrase in _EN_PHRASE.finditer(text):
        head = _EN_BARE_HEAD.match(phrase.group())
        pos = phrase.start() + (head.end() if head else 0)
        words = _en_words(text, pos, lex)
        rest = text[words[-1].end() : phrase.end()].strip() if words else "x"
        if len(words) >= 2 and rest in ("", "please") and not _EN_NEGATED.search(text, 0, pos):
            out.append(_best_en_name(norm, words, lex, lowercase_ok=False, whole=True))
    return out


def _without_overlaps(entities: list[Entity]) -> list[Entity]:
    """First come first kept: a cued name wins over a bare phrase covering the same words."""
    out: list[Entity] = []
    for e in entities:
        if all(e.end <= o.start or o.end <= e.start for o in out):
            out.append(e)
    return out


def _best_en_name(
    norm: Normalized, words: list[re.Match[str]], lex: Lexicon, *, lowercase_ok: bool, whole: bool = False
) -> Entity | None:
    """The longest run of the words (all of them if ``whole``) that reads as a name and ends where
    a name may end (end of turn, "at", "please", a number ...): capitalised as said, or lowercase
    where allowed or when it starts with a pinyin surname ("li wei")."""
    text = norm.text
    if not words:
        return None
    pinyin_start = _bare_word(words[0].group()) in _pinyin_surnames(lex.surnames, lex.compound_surnames)
    for k in range(len(words), len(words) - 1 if whole else 0, -1):
        start, end = words[0].start(), words[k - 1].end()
        if text[end - 2 : end] == "'s":
            end -= 2  # "john's account"
        o_start, o_end = norm.span(start, end)
        capitalised = all(part[:1].isupper() for part in norm.original[o_start:o_end].split())
        ends_well = _EN_END_OK.match(text[end:]) is not None or text[end : end + 2] == "'s"
        if capitalised or ((lowercase_ok or pinyin_start) and ends_well):
            value = " ".join(part[:1].upper() + part[1:] for part in text[start:end].split())
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

"""Homophone repair: the recogniser's text, corrected toward the bank's own words where it misheard.

Whisper writes what a sentence *sounds* like in its general vocabulary: 挂湿 for 挂失, 专帐 for 转账,
"trans fur" for "transfer". This step compares the transcript with the domain terms (bank names
and choices from ``dialogs/nlu/lexicon/``, service words from ``dialogs/asr_terms.yaml``; the
caller gathers them into :class:`DomainTerms`) and replaces a stretch only when all of these hold,
because a correct sentence must come out unchanged:

Mandarin (as many characters out as in)
  1. the stretch sounds like the term: per character, toneless pinyin split into initial and
     final, with the merges many speakers (and Whisper) make (z/zh, c/ch, s/sh, n/l, in/ing,
     en/eng, an/ang), the heard characters read in their context, compared with rapidfuzz; by
     default every syllable must be the same after the merges (``zh_min_similarity`` 1.0; the
     same character always matches: 行 of 见行 is the 行 of 建行);
  2. the stretch is not already a word: jieba's dictionary (349 000 words with counts) knows it
     less than ``zh_word_max_count`` times, and it is not a domain term itself (转发 stays 转发);
  3. it does not cut a word of the sentence in two: its edges fall on jieba's word boundaries
     (in 眼看就要下雨了 no window crosses 眼看 | 就要);
  4. the sentence becomes more likely: its unigram log-probability (jieba's best segmentation,
     with the terms added to the dictionary) rises by at least ``zh_min_gain`` nats;
  5. it is not inside a span of the caller's ``keep`` pattern: a payee name sounds like anything
     (给刘水转五百 must not pay 流水); the kiosk builds the pattern from the payee cues and surnames.

  Matches that only sound *close* (眼看卡 for 银行卡: yan/yin, kan/hang) are possible by lowering
  ``zh_min_similarity`` (they then must keep one of the term's characters in place and no
  syllable may fall below ``zh_min_syllable_similarity``), but measured on the bank's own correct
  text they changed 53 of 2 244 sentences (退卡 -> 吞卡, 打钱 -> 打印, 已经到账 -> 立即到账), so they
  are off. docs/benchmarks.md has the figures.

English (only where the recogniser split a word or spelt a name out)
  A run of 2-4 words becomes a term with fewer words when each word of the term was heard either
  whole (the same word) or split into pieces that spell it closely: a metaphone-like key and the
  letters both match, and the first and last pieces sound like the word's start and end
  ("trans fur" -> "transfer", "ever bright bank" -> "everbright bank", "I C B C" -> "ICBC"). One
  real word is never turned into another ("car" stays "car", "does it" does not become "deposit"):
  without an English dictionary that cannot be told safely.

Usage::

    terms = load_asr_terms(content / "dialogs" / "asr_terms.yaml") + DomainTerms.of(zh=bank_aliases)
    repairer = HomophoneRepairer(terms)
    repairer.warm_up()                                # loads jieba's dictionary (~0.7 s), once
    repairer.repair("我的卡丢了要挂湿", "zh").text      # '我的卡丢了要挂失'

Measured on our own examples and once on a blind set: ``bench/asr_repair.py``, figures in
``docs/benchmarks.md`` (section "Speech").
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from dataclasses import dataclass, field
from functools import cache

import jieba
from pypinyin import Style, lazy_pinyin
from pypinyin.contrib.tone_convert import to_finals, to_initials
from rapidfuzz.distance import Indel

from vtm.speech.asr import Lang
from vtm.speech.asr_terms import DomainTerms, load_asr_terms

# DomainTerms and load_asr_terms live in vtm.speech.asr_terms; re-exported so the repair's API is one import.
__all__ = ["DomainTerms", "HomophoneRepairer", "Repair", "RepairOptions", "Repaired", "load_asr_terms"]

_HAN = re.compile(r"[\u4e00-\u9fff]+")
_EN_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
# What may stand between the words of one split-up word: spaces, the dots of "I.C.B.C.", hyphens.
_EN_JOIN = re.compile(r"[\s.\-]*")
# The merges named in the module docstring; finals: -ang/-eng/-ing lose their g (-ong does not).
_INITIAL_MERGES = {"zh": "z", "ch": "c", "sh": "s", "n": "l"}
_NASAL_FINALS = ("ang", "eng", "ing")


@dataclass(frozen=True)
class RepairOptions:
    """Acceptance thresholds, tuned on our own examples only (tests/data/asr/dev_slips.csv and the
    bank's own correct text; docs/benchmarks.md)."""

    zh_min_similarity: float = 1.0  # mean per-character sound similarity; 1.0: the same after the merges
    zh_min_syllable_similarity: float = 0.6  # below 1.0 only: one character that sounds unlike vetoes
    zh_word_max_count: int = 20  # a stretch jieba counts this often or more is a real word: kept
    zh_min_gain: float = 1.0  # nats of unigram log-probability the sentence must gain
    en_min_key_similarity: float = 0.85  # a split word's metaphone-like key against the term word's
    en_min_letter_similarity: float = 0.85  # and its letters ("acounter" vs "account" is 0.80: refused)
    en_min_edge_similarity: float = 0.5  # first/last piece against the word's start/end
    en_max_words: int = 4


@dataclass(frozen=True)
class Repair:
    """One replacement: ``text[start:end]`` was ``heard`` and became ``term``."""

    start: int
    end: int
    heard: str
    term: str
    similarity: float


@dataclass(frozen=True)
class Repaired:
    """The repaired text and what was replaced (offsets into the original text)."""

    text: str
    repairs: tuple[Repair, ...] = field(default=())

    @property
    def changed(self) -> bool:
        return bool(self.repairs)


@cache
def _syllable_key(syllable: str) -> str:
    initial, final = to_initials(syllable, strict=True), to_finals(syllable, strict=True)
    if final.endswith(_NASAL_FINALS):
        final = final[:-1]
    return _INITIAL_MERGES.get(initial, initial) + final


def _term_keys(term: str) -> tuple[str, ...]:
    """The term's own reading: pypinyin's phrase dictionary picks it (银行 -> yin hang)."""
    return tuple(_syllable_key(s) for s in lazy_pinyin(term, style=Style.NORMAL))


@cache
def _en_key(letters: str) -> str:
    """A metaphone-like key: spellings of one sound made one, vowels after the first letter dropped."""
    s = letters.lower()
    for spelling, sound in (("tch", "ch"), ("ph", "f"), ("ck", "k"), ("dg", "j"), ("wh", "w"), ("gh", ""),
                            ("x", "ks"), ("q", "k"), ("z", "s")):
        s = s.replace(spelling, sound)
    s = re.sub(r"c(?=[eiy])", "s", s).replace("c", "k")
    s = s[:1] + re.sub(r"[aeiouy]", "", s[1:])
    return re.sub(r"(.)\1+", r"\1", s)


def _letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


class HomophoneRepairer:
    """Repairs a transcript toward :class:`DomainTerms`; thread-safe, jieba loaded once on first use."""

    def __init__(self, terms: DomainTerms, options: RepairOptions | None = None,
                 keep: re.Pattern[str] | None = None) -> None:
        self.terms = terms
        self.options = options or RepairOptions()
        self.keep = keep  # its matches (group "keep" if it has one) are never changed: payee names
        self._zh_terms = frozenset(terms.zh)
        self._zh_by_len: dict[int, list[tuple[str, tuple[str, ...]]]] = {}
        for term in terms.zh:
            keys = _term_keys(term)
            if len(keys) == len(term):  # a character pypinyin cannot read is never a target
                self._zh_by_len.setdefault(len(term), []).append((term, keys))
        self._en_terms = [(t, tuple(_letters(w) for w in t.split())) for t in terms.en]
        self._en_phrases = frozenset(" ".join(words) for _, words in self._en_terms)
        self._tokenizer: jieba.Tokenizer | None = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load jieba's dictionary and pypinyin's tables now, not on a customer's first word."""
        self.repair("我要挂失", "zh")
        self.repair("report my card", "en")

    def repair(self, text: str, lang: Lang) -> Repaired:
        """The text with misheard domain terms replaced; unchanged (``changed`` False) when unsure."""
        found = self._repair_zh(text) if lang == "zh" else self._repair_en(text)
        if not found:
            return Repaired(text)
        out, last = [], 0
        for fix in found:
            out += [text[last : fix.start], fix.term]
            last = fix.end
        out.append(text[last:])
        return Repaired("".join(out), tuple(found))

    # Mandarin ---------------------------------------------------------------------------------
    def _jieba(self) -> jieba.Tokenizer:
        with self._lock:
            if self._tokenizer is None:
                # jieba logs its dictionary load at DEBUG on its own stderr handler; our log is structured.
                logging.getLogger("jieba").setLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()  # our own: jieba's global one is never touched
                tokenizer.initialize()  # reads its dictionary (a cache file in the temp folder after the first run)
                for term in self.terms.zh:
                    # An unknown term gets just enough weight to stay one word (jieba's own rule).
                    tokenizer.add_word(term, tokenizer.FREQ.get(term) or tokenizer.suggest_freq(term))
                self._tokenizer = tokenizer
            return self._tokenizer

    def _repair_zh(self, text: str) -> list[Repair]:
        tokenizer = self._jieba()
        kept = [] if self.keep is None else [
            m.span("keep") if "keep" in m.re.groupindex else m.span() for m in self.keep.finditer(text)]
        repairs: list[Repair] = []
        for run in _HAN.finditer(text):
            offset = run.start()
            fixed = [(s - offset, e - offset) for s, e in kept if s < run.end() and offset < e]
            repairs += self._repair_run(tokenizer, run.group(), offset, fixed)
        return repairs

    def _repair_run(self, tokenizer: jieba.Tokenizer, run: str, offset: int,
                    kept: list[tuple[int, int]]) -> list[Repair]:
        opts = self.options
        edges, at = {0}, 0
        for word in tokenizer.lcut(run, HMM=False):
            at += len(word)
            edges.add(at)
        # The reading in context (pypinyin's phrase dictionary: 说 in 想说 is shuo, not shui).
        keys = [_syllable_key(s) for s in lazy_pinyin(run, style=Style.NORMAL)]
        candidates: list[tuple[float, int, int, str]] = []
        for length, terms in self._zh_by_len.items():
            for start in range(len(run) - length + 1):
                end = start + length
                window = run[start:end]
                if (start not in edges or end not in edges or window in self._zh_terms
                        or tokenizer.FREQ.get(window, 0) >= opts.zh_word_max_count
                        or any(start < e and s < end for s, e in kept)):
                    continue
                for term, term_keys in terms:
                    similarity = _zh_similarity(window, keys[start:end], term, term_keys,
                                                opts.zh_min_syllable_similarity)
                    if similarity >= opts.zh_min_similarity:
                        candidates.append((similarity, start, end, term))
        chosen: list[tuple[int, int, str, float]] = []
        for similarity, start, end, term in sorted(candidates, key=lambda c: (-c[0], c[1] - c[2], c[1])):
            if any(start < e and s < end for s, e, _, _ in chosen):
                continue
            before = _apply(run, chosen)
            after = _apply(run, [*chosen, (start, end, term, similarity)])
            if _log_prob(tokenizer, after) - _log_prob(tokenizer, before) >= opts.zh_min_gain:
                chosen.append((start, end, term, similarity))
        return [Repair(offset + s, offset + e, run[s:e], term, round(sim, 3))
                for s, e, term, sim in sorted(chosen)]  # fmt: skip

    # English ----------------------------------------------------------------------------------
    def _repair_en(self, text: str) -> list[Repair]:
        opts = self.options
        words = list(_EN_WORD.finditer(text))
        letters = [_letters(w.group()) for w in words]
        candidates: list[tuple[float, int, int, str]] = []
        for first in range(len(words)):
            for last in range(first + 1, min(first + opts.en_max_words, len(words))):
                if not _EN_JOIN.fullmatch(text, words[last - 1].end(), words[last].start()):
                    break  # pieces of one word stand next to each other
                heard = letters[first : last + 1]
                if " ".join(heard) in self._en_phrases:
                    continue  # already a term as heard ("hua xia bank" is not respelt "huaxia bank")
                start, end = words[first].start(), words[last].end()
                for term, term_words in self._en_terms:
                    if len(term_words) < len(heard) and (score := self._split_match(heard, term_words)) is not None:
                        candidates.append((score, start, end, _cased(term, text[start:end])))
        chosen: list[Repair] = []
        for similarity, start, end, term in sorted(candidates, key=lambda c: (-c[0], c[1] - c[2], c[1])):
            if not any(start < r.end and r.start < end for r in chosen):
                chosen.append(Repair(start, end, text[start:end], term, round(similarity, 3)))
        return sorted(chosen, key=lambda r: r.start)

    def _split_match(self, heard: list[str], term_words: tuple[str, ...]) -> float | None:
        """How well the heard words spell the term, each term word heard whole or in pieces; None: not at all."""
        opts = self.options
        best: float | None = None
        for cuts in itertools.combinations(range(1, len(heard)), len(term_words) - 1):
            bounds = (0, *cuts, len(heard))
            scores: list[float] = []
            for (a, b), word in zip(itertools.pairwise(bounds), term_words, strict=True):
                pieces = heard[a:b]
                if len(pieces) == 1:  # heard whole: it must be that word, never another real word
                    if pieces[0] != word:
                        break
                    scores.append(1.0)
                    continue
                if word in pieces:
                    break  # the word with a neighbour ("to transfer", "an account") is no split of it
                joined = "".join(pieces)
                key = Indel.normalized_similarity(_en_key(joined), _en_key(word))
                if (key < opts.en_min_key_similarity
                        or Indel.normalized_similarity(joined, word) < opts.en_min_letter_similarity
                        or not _ends_align(pieces[0], pieces[-1], word, opts.en_min_edge_similarity)):
                    break
                scores.append(key)
            else:
                best = max(best or 0.0, sum(scores) / len(scores))
        return best


def _zh_similarity(heard: str, keys: list[str], term: str, term_keys: tuple[str, ...], floor: float) -> float:
    """Mean over the characters of how alike they sound, or 0 when the match is not trustworthy.

    The same character counts as a match whatever its reading (行 in 见行 is the 行 of 建行). A
    match that only sounds *close* (some syllable differs even after the merges) must keep at
    least one of the term's characters in place (眼看卡 -> 银行卡 keeps 卡; 张三 never becomes
    招商), and no character may sound unlike its counterpart (below ``floor``).
    """
    scores = [1.0 if h == t else Indel.normalized_similarity(k, want)
              for h, k, t, want in zip(heard, keys, term, term_keys, strict=True)]  # fmt: skip
    if min(scores) < 1.0 and (min(scores) < floor or not any(h == t for h, t in zip(heard, term, strict=True))):
        return 0.0
    return sum(scores) / len(scores)


def _apply(run: str, chosen: list[tuple[int, int, str, float]]) -> str:
    out, last = [], 0
    for start, end, term, _ in sorted(chosen):
        out += [run[last:start], term]
        last = end
    out.append(run[last:])
    return "".join(out)


def _log_prob(tokenizer: jieba.Tokenizer, sentence: str) -> float:
    """log P(sentence) under jieba's unigram model: the best segmentation's summed log-frequencies."""
    route: dict[int, tuple[float, int]] = {}
    tokenizer.calc(sentence, tokenizer.get_DAG(sentence), route)
    return route[0][0] if sentence else 0.0


def _ends_align(head: str, tail: str, term: str, minimum: float) -> bool:
    """The first piece sounds like the word's start and the last like its end ("loss at" is not "lost")."""
    return (Indel.normalized_similarity(head, term[: len(head)]) >= minimum
            and Indel.normalized_similarity(tail, term[-len(tail):]) >= minimum)


def _cased(term: str, heard: str) -> str:
    """The term in the heard casing: "I C B C" -> "ICBC", "Ever bright" -> "Everbright"."""
    letters = [c for c in heard if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return term.upper()
    return term[:1].upper() + term[1:] if heard[:1].isupper() else term


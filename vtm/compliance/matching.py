"""Text matching for the checks: cue phrases in spoken words, and fuzzy watch-list screening.

Names and phrases arrive through speech recognition, so matching is deliberately forgiving:
traditional characters are folded to simplified (zhconv), case, spaces and punctuation are
dropped, and names are also compared by their toneless pinyin (pypinyin), so that a homophone
transcription (汪芳 for 王芳) still matches. Fuzzy scores come from rapidfuzz (0-100).

Indexes are built once when the pack loads; matching a name is a few microseconds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

__all__ = [
    "NameMatch",
    "PhraseMatcher",
    "WatchIndex",
    "WatchRecord",
    "fold",
    "normalise_account",
    "pinyin_key",
]

_DROP = re.compile(r"[\s\W_]+", re.UNICODE)


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Simplified Chinese, NFKC (full-width -> half-width), lower case, no spaces or punctuation."""
    import zhconv  # imported lazily: its dictionary loads on first use

    text = unicodedata.normalize("NFKC", text)
    return _DROP.sub("", str(zhconv.convert(text, "zh-cn")).lower())


@lru_cache(maxsize=4096)
def pinyin_key(text: str) -> str:
    """Toneless pinyin of the folded text; non-Chinese characters pass through."""
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(fold(text)))


def normalise_account(number: str) -> str:
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", number))


class PhraseMatcher:
    """Finds any of a list of cue phrases (zh and en) inside utterances, after folding both."""

    def __init__(self, phrases: Iterable[str]) -> None:
        self._phrases = tuple(sorted({fold(p) for p in phrases if fold(p)}, key=len, reverse=True))

    def find(self, utterances: Sequence[str]) -> str | None:
        for utterance in utterances:
            folded = fold(utterance)
            for phrase in self._phrases:
                if phrase in folded:
                    return phrase
        return None


@dataclass(frozen=True, slots=True)
class WatchRecord:
    entry_id: str
    list_name: str
    names: tuple[str, ...]
    accounts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NameMatch:
    entry_id: str
    list_name: str
    matched_name: str
    score: float
    by: str  # "text" or "pinyin"


class WatchIndex:
    """Watch-list entries with their folded and pinyin forms precomputed."""

    def __init__(self, records: Iterable[WatchRecord]) -> None:
        self._records = tuple(records)
        self._accounts = {
            normalise_account(a): r for r in self._records for a in r.accounts if normalise_account(a)
        }
        self._names = tuple((r, n, fold(n), pinyin_key(n)) for r in self._records for n in r.names)

    def account(self, number: str, lists: frozenset[str] | None = None) -> WatchRecord | None:
        record = self._accounts.get(normalise_account(number))
        if record is None or (lists is not None and record.list_name not in lists):
            return None
        return record

    def name(
        self,
        name: str,
        threshold: float,
        *,
        pinyin_threshold: float | None,
        lists: frozenset[str] | None = None,
    ) -> NameMatch | None:
        """Best entry whose name scores at least ``threshold`` on the folded text, or at least
        ``pinyin_threshold`` on the pinyin (None: no sound matching)."""
        folded = fold(name)
        if not folded:
            return None
        spelled = pinyin_key(name) if pinyin_threshold is not None else ""
        best: NameMatch | None = None
        for record, original, entry_folded, entry_pinyin in self._names:
            if lists is not None and record.list_name not in lists:
                continue
            candidates = [(fuzz.ratio(folded, entry_folded), threshold, "text")]
            if pinyin_threshold is not None:
                candidates.append((fuzz.ratio(spelled, entry_pinyin), pinyin_threshold, "pinyin"))
            for score, bar, by in candidates:
                if score >= bar and (best is None or score > best.score):
                    best = NameMatch(record.entry_id, record.list_name, original, round(score, 1), by)
        return best

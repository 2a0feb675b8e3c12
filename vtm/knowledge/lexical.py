"""The lexical ranker: BM25 (the ``bm25s`` library) over the question variants of each entry.

One index per language, one document per entry (its title and question variants in that
language). Mandarin is tokenised into characters and character pairs, which needs no
dictionary and catches the two-character words that carry most of the meaning (挂失, 密码,
转账); English into lower-case words without the commonest function words. Latin words and
digits inside Mandarin text (ATM, PIN, 24) are kept as words.

Usage::

    index = LexicalIndex({"zh": zh_docs, "en": en_docs})
    index.scores("卡丢了怎么挂失", "zh")     # numpy array, one BM25 score per entry
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import bm25s  # type: ignore[import-untyped]  # bm25s ships no type information
import numpy as np
import numpy.typing as npt

from vtm.nlu.types import Lang

__all__ = ["LexicalIndex", "tokenize"]

_CJK = re.compile(r"[\u4e00-\u9fff]+")
_LATIN = re.compile(r"[a-z0-9]+")
# Words that say nothing about which entry is meant. Question words are included: every entry is
# a question, so "what" or "how" match everywhere and only add noise (measured on the dev set).
_EN_STOP = frozenset(
    {
        "a", "an", "the", "is", "are", "am", "was", "were", "be", "been", "to", "of", "in", "on", "at",
        "for", "and", "or", "it", "its", "this", "that", "my", "me", "i", "you", "your", "do", "does", "did",
        "can", "could", "would", "will", "should", "please", "there", "their", "them", "so", "if", "with",
        "by", "from", "as", "what", "how", "when", "why", "which", "where", "get", "got", "need", "want",
        "like", "just", "some", "any", "s", "t", "don", "doesn", "didn", "m", "ve", "ll", "d", "re",
    }
)
_ZH_STOP = frozenset("的了吗呢吧啊呀么我你您是在")


def _en_word(word: str) -> str:
    # Plural and third-person "s" only: enough to meet "cards"/"card", "transfers"/"transfer".
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def tokenize(text: str, lang: Lang) -> list[str]:
    """BM25 tokens of an already-normalised text (lower case, simplified Chinese)."""
    lowered = text.lower()
    words = [_en_word(w) for w in _LATIN.findall(lowered) if w not in _EN_STOP]
    if lang == "en":
        return words
    tokens: list[str] = []
    for run in _CJK.findall(lowered):
        tokens.extend(c for c in run if c not in _ZH_STOP)
        tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    return tokens + words


class LexicalIndex:
    """BM25 per language over one document per entry; immutable after construction."""

    def __init__(self, documents: Mapping[Lang, Sequence[str]]) -> None:
        sizes = {len(docs) for docs in documents.values()}
        if len(sizes) != 1:
            raise ValueError("every language needs one document per entry")
        self.size = sizes.pop()
        self._indexes: dict[Lang, bm25s.BM25] = {}
        for lang, docs in documents.items():
            index = bm25s.BM25()
            index.index([tokenize(d, lang) or ["<empty>"] for d in docs], show_progress=False)
            self._indexes[lang] = index

    def scores(self, text: str, lang: Lang) -> npt.NDArray[np.float32]:
        """BM25 score of ``text`` against every entry (0 where no token is shared)."""
        tokens = tokenize(text, lang)
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._indexes[lang].get_scores(tokens), dtype=np.float32)

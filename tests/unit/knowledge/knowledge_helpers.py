"""Shared builders for the knowledge tests (importable by name, like ``compliance_helpers``).

``CharEncoder`` is an in-memory implementation of the ``SentenceEncoder`` port (a hashed bag of
characters and character pairs): fast, the same on every machine, and good enough to test
indexing, caching and the decline path without e5.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from pathlib import Path

import torch

from vtm.knowledge import KnowledgeContent

ROOT = Path(__file__).resolve().parents[3]


def edit(path: Path, old: str, new: str) -> None:
    """Replace exactly one occurrence of ``old`` in ``path`` (a test that edits nothing fails)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


class CharEncoder:
    """Hashed character and character-pair counts, L2-normalised; counts the texts it embeds."""

    def __init__(self, dims: int = 512) -> None:
        self.dims = dims
        self.texts_embedded = 0

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        self.texts_embedded += len(texts)
        out = torch.zeros(len(texts), self.dims)
        for row, text in enumerate(texts):
            folded = "".join(text.lower().split())
            grams = list(folded) + [folded[i : i + 2] for i in range(len(folded) - 1)]
            for gram in grams:
                out[row, int(hashlib.sha256(gram.encode()).hexdigest()[:8], 16) % self.dims] += 1.0
        return torch.nn.functional.normalize(out + 1e-6, dim=-1)


def without_classifier(content: KnowledgeContent) -> KnowledgeContent:
    """``content`` ranked by e5 and BM25 alone: fitting the entry classifier on the char encoder's
    vectors takes half a minute, so only the tests about the classifier pay for it."""
    retrieval = content.settings.retrieval.model_copy(update={"outside_ceiling": None, "classifier_weight": 0.0})
    return dataclasses.replace(content, settings=content.settings.model_copy(update={"retrieval": retrieval}))

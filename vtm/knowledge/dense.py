"""The dense ranker: e5 sentence embeddings of every question variant, cached on disk.

The kiosk already holds multilingual-e5-small for its intents; the knowledge base takes any
object with the same ``embed`` method (:class:`SentenceEncoder`) so that one loaded copy serves
both. Variant embeddings are computed once and cached under ``<models>/knowledge/`` in a file
named by the SHA-256 of the indexed texts and of the encoder itself (a fingerprint of its output
on fixed probe sentences, so a different or quantised encoder never reads another's cache).

Usage::

    index = DenseIndex.build(encoder, texts_per_entry, cache_dir)
    index.scores("我的卡丢了")                      # best cosine per entry
    index.scores("我的卡丢了", second_weight=0.3)   # blended with each entry's second-best text
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
import torch

__all__ = ["CACHE_VERSION", "DenseIndex", "SentenceEncoder", "embed_cached", "encoder_fingerprint"]

CACHE_VERSION = "kb-dense-v1"
_PROBES = ("我的银行卡丢了", "How do I transfer money?")
_BATCH = 64


class SentenceEncoder(Protocol):
    """What the knowledge base needs of an encoder (:class:`vtm.nlu.model.encoder.E5Encoder` fits)."""

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        """L2-normalised sentence embeddings, one row per text."""
        ...


def encoder_fingerprint(encoder: SentenceEncoder) -> str:
    """SHA-256 of the encoder's rounded output on fixed probes: same model and numerics, same print."""
    vectors = encoder.embed(list(_PROBES)).detach().cpu().numpy()
    return hashlib.sha256(np.round(vectors, 3).astype(np.float32).tobytes()).hexdigest()


def _embed_all(encoder: SentenceEncoder, texts: Sequence[str]) -> npt.NDArray[np.float32]:
    chunks = [encoder.embed(list(texts[i : i + _BATCH])).detach().cpu().numpy() for i in range(0, len(texts), _BATCH)]
    return np.concatenate(chunks).astype(np.float32)


def _save_atomically(path: Path, matrix: npt.NDArray[np.float32]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, matrix)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def embed_cached(encoder: SentenceEncoder, texts: Sequence[str], cache_dir: Path | None) -> npt.NDArray[np.float32]:
    """One L2-normalised row per text, read from ``cache_dir`` when these texts were embedded before
    by the same encoder (file named by the SHA-256 of both); a damaged cache file is rebuilt."""
    if cache_dir is None:
        return _embed_all(encoder, texts)
    digest = hashlib.sha256(f"{CACHE_VERSION}\n{encoder_fingerprint(encoder)}\n".encode())
    for text in texts:
        digest.update(text.encode("utf-8") + b"\n")
    path = cache_dir / f"{digest.hexdigest()}.npy"
    if path.is_file():
        try:
            loaded = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            loaded = None  # a damaged cache file is rebuilt below, never trusted
        if loaded is not None and loaded.shape[0] == len(texts):
            return np.asarray(loaded, dtype=np.float32)
    matrix = _embed_all(encoder, texts)
    _save_atomically(path, matrix)
    return matrix


class DenseIndex:
    """Variant embeddings grouped by entry: rows ``starts[i] .. starts[i+1]-1`` belong to entry ``i``."""

    def __init__(self, encoder: SentenceEncoder, matrix: npt.NDArray[np.float32], starts: npt.NDArray[np.intp]) -> None:
        self.encoder = encoder
        self.matrix = matrix
        self.starts = starts
        # Row numbers of each entry's texts, padded with -1 to the longest entry: lets ``scores`` find
        # every entry's second-best text with one vectorised partition instead of a loop over entries.
        ends = np.append(starts[1:], len(matrix))
        widest = int((ends - starts).max()) if len(starts) else 0
        self._rows = np.full((len(starts), widest), -1, dtype=np.intp)
        for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
            self._rows[i, : end - start] = np.arange(start, end)

    @classmethod
    def build(
        cls,
        encoder: SentenceEncoder,
        texts_per_entry: Sequence[Sequence[str]],
        cache_dir: Path | None,
    ) -> DenseIndex:
        """Embed every entry's texts (or read them from the cache) and index them."""
        if any(not group for group in texts_per_entry):
            raise ValueError("every entry needs at least one text to embed")
        starts = np.cumsum([0, *(len(g) for g in texts_per_entry[:-1])]).astype(np.intp)
        return cls(encoder, embed_cached(encoder, [t for group in texts_per_entry for t in group], cache_dir), starts)

    def embed(self, text: str) -> npt.NDArray[np.float32]:
        """The question's e5 vector (what :meth:`scores` and the entry classifier take)."""
        vector: npt.NDArray[np.float32] = self.encoder.embed([text]).detach().cpu().numpy()[0].astype(np.float32)
        return vector

    def scores(self, text: str | npt.NDArray[np.float32], second_weight: float = 0.0) -> npt.NDArray[np.float32]:
        """Cosine similarity of ``text`` (or its vector from :meth:`embed`) to each entry: its best
        text, blended with its second best.

        ``second_weight`` is the share of the second-best text. An entry that two of its phrasings
        match is more likely the one meant than an entry with a single lucky phrasing (measured on
        the development set, docs/benchmarks.md). An entry with one text counts it twice.
        """
        query = self.embed(text) if isinstance(text, str) else text
        similarities = self.matrix @ query
        best = np.maximum.reduceat(similarities, self.starts)
        if second_weight == 0.0:
            return best.astype(np.float32)
        padded = np.where(self._rows >= 0, similarities[self._rows], -np.inf)
        second = -np.partition(-padded, 1, axis=1)[:, 1] if padded.shape[1] > 1 else best
        second = np.where(np.isfinite(second), second, best)
        return ((1.0 - second_weight) * best + second_weight * second).astype(np.float32)

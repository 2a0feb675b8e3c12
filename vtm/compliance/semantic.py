"""Meaning-based matching of the customer's words against the fraud exemplars.

The gate does not load a language model: the kiosk injects the one it already runs for intent
recognition (multilingual-e5-small) through the :class:`TextEmbedder` port, and this module keeps
the exemplar matrix and does one matrix product per utterance.

How an utterance is scored (the figures are rule parameters, ``fraud_semantic`` in policy.yaml):

1. Texts are normalised as speech arrives (NFKC, traditional -> simplified) and embedded as e5
   *queries*. e5 embeddings are anisotropic (any two sentences have cosine ~0.8), so every vector
   is centred on the mean of the exemplar set and re-normalised: similarities then spread over
   roughly -0.2 .. 0.9 and a threshold means something.
2. ``score`` = mean similarity of the ``k`` closest fraud lines; ``benign_score`` = the same over
   the benign lines; ``margin = score - benign_score``. A line about paying a builder is close to
   "pay a fee first" scripts too; the margin asks whether it is *closer* to the scripts than to
   the ordinary reasons, which a single absolute threshold cannot. Averaging ``k`` neighbours
   keeps one odd exemplar from deciding alone.
3. Optionally (``classifier_weight`` > 0) a learned boundary adds its evidence: a softmax
   classifier (:mod:`vtm.common.classifier`, one class per fraud type plus one for the benign lines)
   fitted on the same centred exemplar vectors gives ``fraud_probability``, the probability of
   any fraud type; ``evidence = margin + classifier_weight * log-odds(fraud_probability)``. The
   neighbours judge by the closest lines, the classifier by all of them: on the development sets
   the sum raised fewer false alarms than either alone at the same recall (docs/compliance.md).
4. Optionally (``lexical_weight`` > 0) the words themselves add theirs: a logistic regression over
   TF-IDF of character 1-3-grams (:class:`LexicalClassifier`, fraud lines against benign ones)
   gives log-odds of fraud; ``evidence += lexical_weight * lexical log-odds``. e5 hears what a
   sentence means but blurs rare words ("warrant", "USDT", "解冻费") that a script turns on.
5. The nearest fraud line names the fraud type and the exemplar in the verdict.

Exemplar embeddings are computed once per (exemplar file hash, embedder model id) and cached as
a ``.npy`` file when a cache folder is given; utterance embeddings are memoised per text, so the
four transfer checkpoints of one session embed each utterance once. Fitted classifiers are
cached in the same folder, named by the hash of their training vectors and settings.

Usage::

    index = SemanticIndex(pack.exemplars, embedder, cache_dir=models_path / "fraud-exemplars", classifier_cs=[64.0])
    best = index.best(["派出所打电话说我的卡牵扯到案子"], neighbours=3, classifier_c=64.0)
    best.exemplar.fraud_type, best.score, best.margin, best.fraud_probability, best.evidence(0.02)
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from vtm.common.canonical import sha256_hex
from vtm.common.classifier import SoftmaxClassifier
from vtm.common.memo import Memo
from vtm.compliance.exemplars import Exemplar, ExemplarSet

__all__ = ["PREPARATION_VERSION", "LexicalClassifier", "SemanticIndex", "SemanticMatch", "TextEmbedder", "prepare_text"]

_log = logging.getLogger(__name__)

Matrix = npt.NDArray[np.float32]

PREPARATION_VERSION = "fraud-semantic-v1"
"""Bump when text preparation or centring changes: cached exemplar matrices are then recomputed."""

_BATCH = 32
_MEMO = 512  # utterances remembered (a session has at most a handful)
_P_FLOOR = 1e-6  # log-odds are taken of a probability kept within [floor, 1 - floor]
# Lexical classifiers fitted in this process, by (exemplar content hash, C): immutable once fitted, so
# every gate of a process (a test run builds hundreds) shares one: one per exemplar file and C (a
# benchmark's left-out subsets add one each).
_LEXICAL_FITTED: dict[tuple[str, float], LexicalClassifier] = {}
_LEXICAL_LOCK = threading.Lock()


class TextEmbedder(Protocol):
    """Sentence embeddings of short customer utterances (the port the kiosk's NLU encoder fills).

    ``embed`` returns one L2-normalised row per text (float32, ``[len(texts), dim]``), embedding
    each text as a *query* (e5: ``"query: " + text``). ``model_id`` names the weights and the
    pooling, so cached exemplar vectors are never mixed with another model's.
    """

    @property
    def model_id(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> Matrix: ...


def prepare_text(text: str) -> str:
    """What is embedded: NFKC (full-width -> half-width) and simplified Chinese, whitespace collapsed."""
    import zhconv  # its dictionary loads on first use

    text = unicodedata.normalize("NFKC", text)
    return " ".join(str(zhconv.convert(text, "zh-cn")).split())


@dataclass(frozen=True, slots=True)
class SemanticMatch:
    """How one utterance compares with the exemplars (centred cosine similarities)."""

    utterance: str
    exemplar: Exemplar
    """The closest fraud line: it names the fraud type."""
    similarity: float
    """Similarity to that closest fraud line."""
    score: float
    """Mean similarity of the ``k`` closest fraud lines."""
    benign_score: float
    """Mean similarity of the ``k`` closest benign lines."""
    nearest_benign: Exemplar
    fraud_probability: float | None = None
    """The classifier's probability of any fraud type (None when no classifier was asked for)."""
    lexical_log_odds: float | None = None
    """The lexical classifier's log-odds of fraud (None when none was asked for)."""

    @property
    def margin(self) -> float:
        return self.score - self.benign_score

    def evidence(self, classifier_weight: float, lexical_weight: float = 0.0) -> float:
        """The margin plus ``classifier_weight`` times the classifier's log-odds of fraud, plus
        ``lexical_weight`` times the lexical classifier's."""
        evidence = self.margin
        if classifier_weight and self.fraud_probability is not None:
            p = min(max(self.fraud_probability, _P_FLOOR), 1 - _P_FLOOR)
            evidence += classifier_weight * math.log(p / (1 - p))
        if lexical_weight and self.lexical_log_odds is not None:
            evidence += lexical_weight * self.lexical_log_odds
        return evidence


class LexicalClassifier:
    """Fraud line or ordinary reason, judged by the words: TF-IDF of character 1-3-grams within words
    (a Mandarin character is a word piece) and a logistic regression, both scikit-learn, fitted on the
    exemplars' prepared texts with the two classes weighted equally. Fitting takes about two seconds
    (:meth:`fitted` keeps one per exemplar set and C for the process)."""

    def __init__(self, texts: Sequence[str], is_fraud: Sequence[bool], c: float) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self._vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
        features = self._vectorizer.fit_transform(texts)
        self._model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced").fit(features, list(is_fraud))

    @classmethod
    def fitted(cls, exemplars: ExemplarSet, c: float) -> LexicalClassifier:
        """The classifier of this exemplar set (by content hash) and C, fitted once per process."""
        key = (exemplars.content_hash, c)
        with _LEXICAL_LOCK:
            found = _LEXICAL_FITTED.get(key)
            if found is None:
                found = cls([prepare_text(e.text) for e in exemplars.all], [e.is_fraud for e in exemplars.all], c)
                _LEXICAL_FITTED[key] = found
        return found

    def log_odds(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Log-odds of fraud for each (prepared) text."""
        scores: npt.NDArray[np.float64] = self._model.decision_function(self._vectorizer.transform(texts))
        return scores


def _normalise(matrix: Matrix) -> Matrix:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    normalised: Matrix = (matrix / np.maximum(norms, 1e-12)).astype(np.float32)
    return normalised


class SemanticIndex:
    """The exemplar set embedded and centred; scores utterances against it."""

    def __init__(
        self,
        exemplars: ExemplarSet,
        embedder: TextEmbedder,
        *,
        cache_dir: Path | None = None,
        classifier_cs: Sequence[float] = (),
        lexical_cs: Sequence[float] = (),
        remember: int = _MEMO,
        vectors: Matrix | None = None,
    ) -> None:
        """``classifier_cs``: the regularisation strengths the rules ask for; each classifier is
        fitted here (or read from ``cache_dir``), so no customer's turn waits for a fit; likewise
        ``lexical_cs`` for the lexical classifiers (fitted in seconds, once per process).
        ``remember``: how many utterance vectors are memoised (a benchmark sweeping a set keeps all).
        ``vectors``: the exemplars' raw embeddings when already known (:meth:`without`)."""
        self.exemplars = exemplars
        self.embedder = embedder
        self.key = sha256_hex(f"{PREPARATION_VERSION}\n{exemplars.content_hash}\n{embedder.model_id}")
        raw = self._exemplar_vectors(cache_dir) if vectors is None else vectors
        if raw.shape[0] != len(exemplars.all):
            raise ValueError(f"{raw.shape[0]} exemplar vectors for {len(exemplars.all)} lines")
        self._raw = raw
        self._cache_dir = cache_dir
        self._classifier_cs = tuple(classifier_cs)
        self._centre = raw.mean(axis=0, dtype=np.float64).astype(np.float32)
        centred = _normalise(raw - self._centre)
        n_fraud = len(exemplars.fraud)
        self._fraud = centred[:n_fraud]
        self._benign = centred[n_fraud:]
        self._remember = remember
        self._memo: Memo[str, Matrix] = Memo(remember)
        types = list(dict.fromkeys(e.fraud_type for e in exemplars.fraud))
        labels = np.array([1 + types.index(e.fraud_type) for e in exemplars.fraud] + [0] * len(exemplars.benign))
        self._classifiers = {
            float(c): SoftmaxClassifier.fit(centred, labels, 1 + len(types), float(c), cache_dir)
            for c in dict.fromkeys(classifier_cs)
        }
        self._lexical_cs = tuple(lexical_cs)
        self._lexical = {float(c): LexicalClassifier.fitted(exemplars, float(c)) for c in dict.fromkeys(lexical_cs)}

    def without(self, leave_out: Callable[[Exemplar], bool], name: str) -> SemanticIndex:
        """The same index without the lines ``leave_out`` selects, re-centred and its classifiers
        refitted, reusing the embeddings (``name`` tells the subset apart in the cache keys).

        For calibration: a writer's lines scored by an index that has never seen that writer
        (``bench/fraud.py --former``) behave like a new writer's, where in-sample scores would not.
        """
        keep = [not leave_out(e) for e in self.exemplars.all]
        n_fraud = len(self.exemplars.fraud)
        subset = dataclasses.replace(
            self.exemplars,
            fraud=tuple(e for e, k in zip(self.exemplars.fraud, keep[:n_fraud], strict=True) if k),
            benign=tuple(e for e, k in zip(self.exemplars.benign, keep[n_fraud:], strict=True) if k),
            content_hash=sha256_hex(f"{self.exemplars.content_hash}\nwithout {name}"),
        )
        return SemanticIndex(subset, self.embedder, cache_dir=self._cache_dir, classifier_cs=self._classifier_cs,
                             lexical_cs=self._lexical_cs, remember=self._remember, vectors=self._raw[np.array(keep)])

    def _embed(self, texts: Sequence[str]) -> Matrix:
        rows = [self.embedder.embed(texts[i : i + _BATCH]) for i in range(0, len(texts), _BATCH)]
        matrix = np.concatenate(rows).astype(np.float32) if rows else np.zeros((0, 0), np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(texts) or not np.isfinite(matrix).all():
            raise ValueError(f"embedder {self.embedder.model_id!r} returned {matrix.shape} for {len(texts)} texts")
        return matrix

    def _exemplar_vectors(self, cache_dir: Path | None) -> Matrix:
        texts = [prepare_text(e.text) for e in self.exemplars.all]
        cached = None if cache_dir is None else cache_dir / f"fraud-exemplars-{self.key[:32]}.npy"
        if cached is not None and cached.is_file():
            try:
                matrix: Matrix = np.load(cached, allow_pickle=False)
                if matrix.dtype == np.float32 and matrix.ndim == 2 and matrix.shape[0] == len(texts):
                    return matrix
                _log.warning("event=fraud_exemplar_cache_mismatch path=%s shape=%s", cached, matrix.shape)
            except (OSError, ValueError) as exc:
                _log.warning("event=fraud_exemplar_cache_unreadable path=%s error=%s", cached, exc)
        matrix = self._embed(texts)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            # Written beside the target and renamed: a concurrent reader never sees half a file.
            fd, tmp = tempfile.mkstemp(dir=cached.parent, suffix=".npy.partial")
            with os.fdopen(fd, "wb") as handle:
                np.save(handle, matrix, allow_pickle=False)
            os.replace(tmp, cached)
        return matrix

    def _utterance_vectors(self, texts: Sequence[str]) -> Matrix:
        known: dict[str, Matrix] = {}
        for text in dict.fromkeys(texts):
            row = self._memo.get(text)
            if row is None:
                # One at a time: a text the intent model just read reuses its lower layers (vtm.nlu.model.encoder).
                row = _normalise(self._embed([text]) - self._centre)[0]
                self._memo.put(text, row)
            known[text] = row
        return np.stack([known[t] for t in texts])

    def match(
        self, utterances: Sequence[str], neighbours: int, classifier_c: float | None = None,
        lexical_c: float | None = None,
    ) -> list[SemanticMatch]:
        """One :class:`SemanticMatch` per non-empty utterance, in order; with ``classifier_c`` (one of
        the ``classifier_cs`` the index was built with) each carries the classifier's fraud probability,
        with ``lexical_c`` (one of the ``lexical_cs``) the lexical classifier's log-odds."""
        classifier = None if classifier_c is None else self._classifiers.get(float(classifier_c))
        if classifier_c is not None and classifier is None:
            raise ValueError(f"no classifier was fitted with C={classifier_c} (built: {sorted(self._classifiers)})")
        lexical = None if lexical_c is None else self._lexical.get(float(lexical_c))
        if lexical_c is not None and lexical is None:
            raise ValueError(f"no lexical classifier was fitted with C={lexical_c} (built: {sorted(self._lexical)})")
        originals = [u for u in utterances if prepare_text(u)]
        if not originals:
            return []
        prepared = [prepare_text(u) for u in originals]
        vectors = self._utterance_vectors(prepared)
        words = None if lexical is None else lexical.log_odds(prepared)
        to_fraud = vectors @ self._fraud.T
        to_benign = vectors @ self._benign.T
        k_fraud = min(neighbours, to_fraud.shape[1])
        k_benign = min(neighbours, to_benign.shape[1])
        out: list[SemanticMatch] = []
        for row, utterance in enumerate(originals):
            fraud_row, benign_row = to_fraud[row], to_benign[row]
            top_fraud = np.partition(fraud_row, -k_fraud)[-k_fraud:]
            top_benign = np.partition(benign_row, -k_benign)[-k_benign:]
            nearest = int(fraud_row.argmax())
            out.append(
                SemanticMatch(
                    utterance=utterance,
                    exemplar=self.exemplars.fraud[nearest],
                    similarity=float(fraud_row[nearest]),
                    score=float(top_fraud.mean()),
                    benign_score=float(top_benign.mean()),
                    nearest_benign=self.exemplars.benign[int(benign_row.argmax())],
                    fraud_probability=None if classifier is None
                    else float(1.0 - classifier.probabilities(vectors[row])[0]),
                    lexical_log_odds=None if words is None else float(words[row]),
                )
            )
        return out

    def best(
        self, utterances: Sequence[str], neighbours: int, classifier_c: float | None = None,
        classifier_weight: float = 0.0, lexical_c: float | None = None, lexical_weight: float = 0.0,
    ) -> SemanticMatch | None:
        """The utterance with the most evidence (the most fraud-like), or None without words."""
        return max(
            self.match(utterances, neighbours, classifier_c, lexical_c),
            key=lambda m: m.evidence(classifier_weight, lexical_weight),
            default=None,
        )

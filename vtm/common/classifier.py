"""A softmax classifier over sentence vectors: a multinomial logistic regression (scikit-learn).

Two content areas learn a boundary from lines a bank edits, over the e5 vectors they already
compute, and share this class:

- the knowledge base (:class:`vtm.knowledge.base.KnowledgeBase`), one per question language: one
  class per entry, trained on its question variants and phrasings in that language, plus one class
  for questions no entry answers. Nearest-line
  similarity rewards one lucky phrasing; the classifier weighs all of an entry's lines against all
  others', which is what separates neighbours (the fee of a loss report from the loss report);
- the fraud check (:class:`vtm.compliance.semantic.SemanticIndex`): one class per fraud type plus
  the ordinary reasons, trained on the exemplars; its log-odds of "any fraud type" add to the
  nearest-neighbour margin.

Fitting takes seconds to about a minute (the knowledge base's); the fitted weights are cached in a
file named by the SHA-256 of the training vectors, the labels and the settings, so an edit to any
line refits.

Usage::

    classifier = SoftmaxClassifier.fit(vectors, labels, classes=len(entries) + 1, c=8.0, cache_dir=dir)
    probabilities = classifier.probabilities(question_vector)   # one per class, summing to 1
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["CACHE_VERSION", "SoftmaxClassifier"]

CACHE_VERSION = "softmax-classifier-v2"
_MAX_ITER = 2000
# lbfgs stops when the largest gradient step falls below this. scikit-learn's default (1e-4) stopped
# the knowledge base's weakly regularised fit (C 256) so early that vectors differing by 1e-7 (another
# CPU's arithmetic) moved a "no entry" probability by up to 0.15; at 1e-6 by under 0.01, at about
# three times the fitting time (docs/knowledge.md).
_TOL = 1e-6


def _digest(vectors: npt.NDArray[np.float32], labels: npt.NDArray[np.intp], classes: int, c: float) -> str:
    digest = hashlib.sha256(f"{CACHE_VERSION}\n{classes}\n{c!r}\n".encode())
    digest.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    return digest.hexdigest()


class SoftmaxClassifier:
    """Softmax over ``weights @ vector + bias``; immutable and thread-safe after construction."""

    def __init__(self, weights: npt.NDArray[np.float32], bias: npt.NDArray[np.float32]) -> None:
        if weights.ndim != 2 or bias.shape != (weights.shape[0],):
            raise ValueError("weights must be classes x dimensions and bias one value per class")
        self.weights = weights
        self.bias = bias

    @classmethod
    def fit(
        cls,
        vectors: npt.NDArray[np.float32],
        labels: npt.NDArray[np.intp],
        classes: int,
        c: float,
        cache_dir: Path | None = None,
    ) -> SoftmaxClassifier:
        """Fit on ``vectors`` (one row per phrasing) labelled ``0 .. classes-1``; every class needs a row.

        ``c`` is scikit-learn's inverse regularisation strength (larger: closer fit to the phrasings).
        """
        if len(vectors) != len(labels):
            raise ValueError("one label per vector")
        missing = sorted(set(range(classes)) - {int(label) for label in labels})
        if missing:
            raise ValueError(f"classes without a training row: {missing[:10]}")
        path = cache_dir / f"{_digest(vectors, labels, classes, c)}.npz" if cache_dir is not None else None
        if path is not None and path.is_file():
            try:
                with np.load(path, allow_pickle=False) as stored:
                    weights, bias = stored["weights"], stored["bias"]
                if weights.shape == (classes, vectors.shape[1]) and bias.shape == (classes,):
                    return cls(weights.astype(np.float32), bias.astype(np.float32))
            except (OSError, ValueError, KeyError):
                pass  # a damaged cache file is refitted below, never trusted
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=c, max_iter=_MAX_ITER, tol=_TOL)
        with warnings.catch_warnings():
            # lbfgs stopping a hair short of its tolerance changes no ranking; anything else is raised
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(vectors, labels)
        weights = np.asarray(model.coef_, dtype=np.float32)
        bias = np.asarray(model.intercept_, dtype=np.float32)
        if path is not None:
            _save_atomically(path, weights, bias)
        return cls(weights, bias)

    def probabilities(self, vector: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Probability of each class for one question vector."""
        logits = self.weights @ vector + self.bias
        logits = logits - logits.max()
        exp = np.exp(logits)
        probabilities: npt.NDArray[np.float32] = (exp / exp.sum()).astype(np.float32)
        return probabilities


def _save_atomically(path: Path, weights: npt.NDArray[np.float32], bias: npt.NDArray[np.float32]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, weights=weights, bias=bias)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

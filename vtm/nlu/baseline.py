"""The yardstick: character n-gram TF-IDF + logistic regression, trained on the same data.

Reported beside the e5 model by ``vtm nlu evaluate --baseline`` so that a reader can see
what the transformer adds. It sees the same normalised text as the model; no threshold.
"""

from __future__ import annotations

from collections.abc import Sequence

from vtm.nlu.data import Example
from vtm.nlu.normalize import normalize

__all__ = ["TfidfBaseline"]


class TfidfBaseline:
    """``TfidfVectorizer(char_wb, 1-3) -> LogisticRegression``; deterministic (fixed seed)."""

    def __init__(self, examples: Sequence[Example], seed: int = 20240611) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        texts = [normalize(e.text, e.lang).text or e.text for e in examples]
        self.pipeline = make_pipeline(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=1),
            LogisticRegression(max_iter=2000, C=10.0, class_weight="balanced", random_state=seed),
        )
        self.pipeline.fit(texts, [e.intent.value for e in examples])

    def predict_intents(self, texts: Sequence[str], langs: Sequence[str]) -> list[str]:
        normalized = [
            normalize(t, lang if lang in ("zh", "en") else None).text  # type: ignore[arg-type]
            for t, lang in zip(texts, langs, strict=True)
        ]
        return [str(label) for label in self.pipeline.predict(normalized)]

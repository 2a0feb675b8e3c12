"""Intent classification at run time, and getting a trained model (cached or trained now).

Usage::

    classifier = IntentClassifier.obtain(settings.models_path, examples, train_if_missing=True)
    prediction = classifier.predict(normalize("卡丢了").text)
    prediction.intent, prediction.confidence        # 'report_card_lost', 0.97
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from vtm.common.memo import Memo
from vtm.nlu.data import Example
from vtm.nlu.encoder_files import e5_dir
from vtm.nlu.model.artifacts import ArtifactMeta, artifact_dir, cache_key, load_artifact, save_artifact
from vtm.nlu.model.bank import ExampleBank, fuse
from vtm.nlu.model.config import TrainConfig
from vtm.nlu.model.encoder import E5Encoder
from vtm.nlu.model.errors import ArtifactMissing
from vtm.nlu.model.head import IntentHead
from vtm.nlu.model.train import OUT_OF_SCOPE, ModelInput, Progress, train_intent_head
from vtm.nlu.normalize import normalize

__all__ = ["IntentClassifier", "IntentPrediction", "model_inputs"]

_REMEMBERED = 4096  # predictions kept per loaded model (a few hundred kB)


@dataclass(frozen=True)
class IntentPrediction:
    """``intent`` after the out-of-scope threshold; ``ranking`` is the calibrated distribution."""

    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]


def model_inputs(examples: Sequence[Example]) -> list[ModelInput]:
    """Training examples as the model sees them: normalised exactly as at run time."""
    return [ModelInput(normalize(e.text, e.lang).text or e.text, e.intent.value, e.lang) for e in examples]


def _encoder_digest(folder: Path) -> str:
    stamp = folder / "model.sha256"
    return stamp.read_text().strip() if stamp.is_file() else "unknown"


class IntentClassifier:
    """The frozen bottom of e5, the trained head, the example bank and the calibration of its artifact.

    The distribution is the head's (temperature-scaled) mixed with the bank's nearest-neighbour
    vote, ``meta.knn_weight`` of the latter; below ``threshold`` (the trained ``meta.threshold``
    unless a calibrated one replaces it) the answer is out_of_scope.
    """

    def __init__(self, encoder: E5Encoder, head: IntentHead, meta: ArtifactMeta, bank: ExampleBank) -> None:
        self.encoder = encoder
        self.head = head.eval()
        self.meta = meta
        self.bank = bank
        self.threshold = meta.threshold
        # The kiosk asks again for what it already understood: the turn it took early, while the
        # kiosk's previous turn ran (vtm.kiosk.server), and the same short answers all day long.
        self._memo: Memo[str, IntentPrediction] = Memo(_REMEMBERED)

    @classmethod
    def obtain(
        cls,
        models_path: Path,
        examples: Sequence[Example],
        config: TrainConfig | None = None,
        *,
        train_if_missing: bool = False,
        progress: Progress | None = None,
        encoder: E5Encoder | None = None,
    ) -> IntentClassifier:
        """Load the artifact for these examples and config; train it first if allowed and missing."""
        config = config or TrainConfig()
        encoder_folder = e5_dir(models_path)
        encoder = encoder or E5Encoder.load(encoder_folder)
        if config.int8_frozen_layers:
            encoder.quantize_below(encoder.num_layers - config.tuned_layers)
        elif encoder.quantized_below is not None:
            raise ValueError("this configuration expects a float encoder, the given one is quantized")
        items = model_inputs(examples)
        key = cache_key(items, config, _encoder_digest(encoder_folder))
        folder = artifact_dir(models_path, key)
        try:
            head, meta, bank = load_artifact(folder, encoder)
        except ArtifactMissing:
            if not train_if_missing:
                raise
            outcome = train_intent_head(encoder, items, config, progress)
            save_artifact(folder, key, outcome, config, len(items))
            head, meta, bank = load_artifact(folder, encoder)
        return cls(encoder, head, meta, bank)

    @torch.inference_mode()
    def predict_many(self, texts: Sequence[str]) -> list[IntentPrediction]:
        """Predict for already-normalised texts."""
        if not texts:
            return []
        tokens = self.encoder.tokenize(texts)
        hidden = self.encoder.hidden_below(tokens, self.head.split)
        embedded = self.head.embed(hidden, tokens.attention_mask)
        probs = torch.softmax(self.head.logits(embedded) / self.meta.temperature, dim=-1)
        if self.meta.knn_weight > 0:
            votes = self.bank.vote(embedded, self.meta.config.knn_k, self.meta.knn_temperature)
            probs = fuse(probs, votes, self.meta.knn_weight)
        out: list[IntentPrediction] = []
        for row in probs.tolist():
            ranking = tuple(sorted(zip(self.meta.labels, row, strict=True), key=lambda p: -p[1]))
            best, confidence = ranking[0]
            if confidence < self.threshold and best != OUT_OF_SCOPE:
                # Not sure enough of any intent: say so, with how likely "none of the intents" is.
                best, confidence = OUT_OF_SCOPE, 1.0 - confidence
            out.append(IntentPrediction(best, float(confidence), ranking))
        return out

    def forget(self) -> None:
        """Drop the remembered answers (benchmarks time the model, not the memo)."""
        self._memo.clear()
        self.encoder.forget()

    def predict(self, text: str) -> IntentPrediction:
        """One already-normalised text; the last few thousand answers are remembered."""
        return self._memo.get_or_compute(text, lambda: self.predict_many([text])[0])

"""``NluParser``: one utterance in, an :class:`~vtm.nlu.types.NluResult` out.

normalise (``vtm.nlu.normalize``) -> intent model (``vtm.nlu.model``) on the normalised text ->
rule-based entities (``vtm.nlu.entities``) on the original text, spans in original offsets.
The model loads on the first :meth:`NluParser.parse`, not at construction, so building the
kiosk is fast and a process that never parses never pays for e5.

Usage::

    parser = NluParser(settings.models_path, settings.content_root / "dialogs" / "nlu")
    result = parser.parse("给我妈转两千", today=date(2025, 3, 14))
    result.intent, result.slots
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import torch

from vtm.nlu.data import load_calibration, load_training_data
from vtm.nlu.model import IntentClassifier, TrainConfig
from vtm.nlu.model.train import OUT_OF_SCOPE, Progress
from vtm.nlu.normalize import detect_lang, normalize
from vtm.nlu.types import Lang, NluResult

__all__ = ["NluParser"]


class NluParser:
    """Stateless per call; thread-safe lazy loading; one torch thread (ASR shares the CPU)."""

    def __init__(
        self,
        models_path: Path,
        training_root: Path,
        config: TrainConfig | None = None,
        *,
        train_if_missing: bool = False,
        progress: Progress | None = None,
    ) -> None:
        self.models_path = models_path
        self.training_root = training_root
        self.config = config or TrainConfig()
        self.train_if_missing = train_if_missing
        self.progress = progress
        self._classifier: IntentClassifier | None = None
        self._lock = threading.Lock()

    @property
    def classifier(self) -> IntentClassifier:
        """The intent model, loaded (or, if allowed, trained) on first use."""
        with self._lock:
            if self._classifier is None:
                torch.set_num_threads(1)
                examples = load_training_data(self.training_root)
                classifier = IntentClassifier.obtain(
                    self.models_path,
                    examples,
                    self.config,
                    train_if_missing=self.train_if_missing,
                    progress=self.progress,
                )
                calibrated = load_calibration(self.training_root).out_of_scope_threshold
                if calibrated is not None:
                    classifier.threshold = calibrated
                self._classifier = classifier
            return self._classifier

    def parse(self, text: str, lang: Lang | None = None, today: date | None = None) -> NluResult:
        """Understand ``text``; ``lang`` is detected when not given; dates resolve against ``today``."""
        from vtm.nlu.entities import extract_entities  # rules load their lexicons on first use

        normalized = normalize(text, lang)
        language: Lang = lang or detect_lang(normalized.text)
        today = today or date.today()  # noqa: DTZ011 - the kiosk's local calendar day is what customers mean
        if not normalized.text.strip():
            return NluResult(text=text, lang=language, intent=OUT_OF_SCOPE, confidence=1.0, slots=[])
        prediction = self.classifier.predict(normalized.text)
        slots = extract_entities(text, language, today)
        ranked_first = prediction.ranking[0][0] if prediction.ranking else prediction.intent
        return NluResult(
            text=text,
            lang=language,
            intent=prediction.intent,
            confidence=min(max(prediction.confidence, 0.0), 1.0),
            slots=list(slots),
            best_guess=ranked_first if ranked_first != prediction.intent else None,
        )

    def predict_intents(self, texts: Sequence[str], langs: Sequence[str]) -> list[str]:
        """Intents only, in batches (for evaluation): the same normalisation and model as :meth:`parse`."""
        normalized = [
            normalize(t, lang if lang in ("zh", "en") else None).text  # type: ignore[arg-type]
            for t, lang in zip(texts, langs, strict=True)
        ]
        out: list[str] = []
        for start in range(0, len(normalized), 32):
            chunk = normalized[start : start + 32]
            live = [t for t in chunk if t.strip()]
            predictions = iter(self.classifier.predict_many(live))
            out.extend(next(predictions).intent if t.strip() else OUT_OF_SCOPE for t in chunk)
        return out

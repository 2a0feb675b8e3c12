"""Setup step: make sure the intent model for the current training data exists (train it once)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

__all__ = ["prepare_intent_model"]


def prepare_intent_model(
    models_path: Path, training_root: Path, progress: Callable[[int, int], None] | None = None
) -> Path:
    """Return the artifact folder, training first if it is not cached. ``progress(done, total)``."""
    import torch

    from vtm.nlu.data import load_training_data
    from vtm.nlu.model.artifacts import artifact_dir
    from vtm.nlu.model.classifier import IntentClassifier

    torch.set_num_threads(1)  # setup shares the machine; training is sized for one thread

    def report(stage: str, done: int, total: int) -> None:
        if progress:
            progress(done, total)

    classifier = IntentClassifier.obtain(
        models_path, load_training_data(training_root), train_if_missing=True, progress=report
    )
    return artifact_dir(models_path, classifier.meta.key)

"""Trained intent-model artifacts on disk, keyed by what produced them.

``<models_path>/nlu/<key>/`` holds ``head.pt`` (state dict of :class:`IntentHead`), ``bank.pt``
(the example bank: one embedding and label index per training example) and ``meta.json``
(:class:`ArtifactMeta`). ``key`` is the SHA-256 of the model inputs (the
normalised training texts with their intents), the training configuration, the training code
version and the encoder's weights digest: any change to one of them trains a new model.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import torch
from pydantic import BaseModel, ConfigDict, ValidationError

from vtm.nlu.model.bank import ExampleBank
from vtm.nlu.model.config import CODE_VERSION, TrainConfig
from vtm.nlu.model.encoder import E5Encoder
from vtm.nlu.model.errors import ArtifactCorrupt, ArtifactMissing
from vtm.nlu.model.head import IntentHead
from vtm.nlu.model.train import ModelInput, TrainOutcome

__all__ = ["ArtifactMeta", "artifact_dir", "cache_key", "load_artifact", "save_artifact"]


class ArtifactMeta(BaseModel):
    """What a reviewer needs to know about a trained model, next to its weights."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    code_version: str
    config: TrainConfig
    labels: list[str]
    temperature: float
    threshold: float
    knn_weight: float
    knn_temperature: float
    holdout_accuracy: float
    holdout_head_accuracy: float | None
    holdout_oos_recall: float | None
    holdout_size: int
    holdout_confusions: list[tuple[str, str, int]] = []  # (expected, predicted, count) on held-out data
    train_examples: int
    fit_examples: int
    train_seconds: float


def cache_key(items: Sequence[ModelInput], config: TrainConfig, encoder_digest: str) -> str:
    digest = hashlib.sha256()
    digest.update(f"{CODE_VERSION}\n{config.model_dump_json()}\n{encoder_digest}\n".encode())
    for item in items:
        digest.update(f"{item.lang}\t{item.intent}\t{item.text}\n".encode())
    return digest.hexdigest()


def artifact_dir(models_path: Path, key: str) -> Path:
    return models_path / "nlu" / key


def save_artifact(
    folder: Path, key: str, outcome: TrainOutcome, config: TrainConfig, train_examples: int
) -> ArtifactMeta:
    """Write atomically (a sibling folder renamed into place)."""
    c = outcome.calibration
    meta = ArtifactMeta(
        key=key,
        code_version=CODE_VERSION,
        config=config,
        labels=outcome.labels,
        temperature=c.temperature,
        threshold=c.threshold,
        knn_weight=c.knn_weight,
        knn_temperature=c.knn_temperature,
        holdout_accuracy=c.holdout_accuracy,
        holdout_head_accuracy=c.holdout_head_accuracy,
        holdout_oos_recall=c.holdout_oos_recall,
        holdout_size=c.holdout_size,
        holdout_confusions=list(c.holdout_confusions),
        train_examples=train_examples,
        fit_examples=outcome.fit_examples,
        train_seconds=round(outcome.train_seconds, 1),
    )
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    torch.save(outcome.head.state_dict(), partial / "head.pt")
    torch.save(
        {"embeddings": outcome.bank.embeddings.contiguous(), "labels": outcome.bank.labels.contiguous()},
        partial / "bank.pt",
    )
    (partial / "meta.json").write_text(meta.model_dump_json(indent=2) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    partial.replace(folder)
    return meta


def load_artifact(folder: Path, encoder: E5Encoder) -> tuple[IntentHead, ArtifactMeta, ExampleBank]:
    if not (folder / "meta.json").is_file():
        raise ArtifactMissing(f"no trained intent model in {folder}; run `vtm nlu train`")
    try:
        meta = ArtifactMeta.model_validate(json.loads((folder / "meta.json").read_text()))
        head = IntentHead(encoder, meta.config.tuned_layers, len(meta.labels), meta.config.dropout)
        head.load_state_dict(torch.load(folder / "head.pt", weights_only=True))
        stored = torch.load(folder / "bank.pt", weights_only=True)
        bank = ExampleBank(stored["embeddings"], stored["labels"], len(meta.labels))
        if len(bank) != meta.train_examples or bank.embeddings.shape[1] != encoder.hidden_size:
            raise ValueError(
                f"bank holds {len(bank)} x {bank.embeddings.shape[1]}, expected {meta.train_examples} x "
                f"{encoder.hidden_size}"
            )
    except (OSError, KeyError, ValueError, ValidationError, RuntimeError) as exc:
        raise ArtifactCorrupt(f"{folder}: {exc}") from exc
    return head.eval(), meta, bank

"""Training of the intent model: frozen bottom of e5, fine-tuned top layers + linear head.

Steps (all deterministic for a given seed, on one CPU thread):

1. split the TRAINING examples, stratified by (language, intent), into a fit part and a
   held-out part (``holdout_fraction``); the independent test set is never seen here;
2. augment the fit part (punctuation-free and lower-case variants);
3. run the frozen e5 layers once per example and keep their output;
4. fine-tune the top layers and the head on the fit part (class-weighted cross-entropy);
5. calibrate on the held-out part: a temperature (NLL minimisation) and the out-of-scope
   threshold, the ``in_scope_rejection`` quantile of calibrated confidence over held-out
   in-scope examples that were classified correctly;
6. train again from the same start on all examples with the same schedule; the calibration
   from step 5 is kept (the usual compromise: calibrating on data the final model saw would
   make it look over-confident).
"""

from __future__ import annotations

import math
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from vtm.nlu.model.config import TrainConfig
from vtm.nlu.model.encoder import E5Encoder
from vtm.nlu.model.head import IntentHead

__all__ = ["Calibration", "ModelInput", "Progress", "TrainOutcome", "train_intent_head"]

Progress = Callable[[str, int, int], None]
OUT_OF_SCOPE = "out_of_scope"
_PUNCT = re.compile(r"[\s\u3000]*[,.!?;:，。！？；：、~…]+[\s\u3000]*")


@dataclass(frozen=True)
class ModelInput:
    """One training example as the model sees it (already normalised)."""

    text: str
    intent: str
    lang: str


@dataclass(frozen=True)
class Calibration:
    temperature: float
    threshold: float
    holdout_accuracy: float
    holdout_oos_recall: float | None
    holdout_size: int
    holdout_confusions: tuple[tuple[str, str, int], ...] = ()


@dataclass(frozen=True)
class TrainOutcome:
    head: IntentHead
    labels: list[str]
    calibration: Calibration
    train_seconds: float
    fit_examples: int


@dataclass
class _Encoded:
    hidden: list[torch.Tensor]  # per example [T_i, H], frozen bottom output
    labels: torch.Tensor


def _variants(item: ModelInput) -> list[ModelInput]:
    out = [item]
    bare = _PUNCT.sub(" ", item.text).strip()
    if bare and bare != item.text:
        out.append(ModelInput(bare, item.intent, item.lang))
    if item.lang == "en" and bare.lower() != bare:
        out.append(ModelInput(bare.lower(), item.intent, item.lang))
    return out


def _split(
    items: Sequence[ModelInput], fraction: float, seed: int
) -> tuple[list[ModelInput], list[ModelInput]]:
    groups: dict[tuple[str, str], list[ModelInput]] = defaultdict(list)
    for item in items:
        groups[(item.lang, item.intent)].append(item)
    rng = random.Random(seed)  # noqa: S311 - a reproducible split, not a secret
    fit: list[ModelInput] = []
    held: list[ModelInput] = []
    for key in sorted(groups):
        group = list(groups[key])
        rng.shuffle(group)
        n_held = math.floor(len(group) * fraction) if len(group) >= 4 else 0
        held.extend(group[:n_held])
        fit.extend(group[n_held:])
    return fit, held


def _encode(
    encoder: E5Encoder,
    items: Sequence[ModelInput],
    labels: list[str],
    split: int,
    progress: Progress | None,
    stage: str,
) -> _Encoded:
    hidden: list[torch.Tensor] = []
    batch = 32
    with torch.inference_mode():
        for start in range(0, len(items), batch):
            chunk = items[start : start + batch]
            tokens = encoder.tokenize([i.text for i in chunk])
            out = encoder.hidden_below(tokens, split)
            for row, mask in zip(out, tokens.attention_mask, strict=True):
                hidden.append(row[: int(mask.sum())].clone())
            if progress:
                progress(stage, min(start + batch, len(items)), len(items))
    index = {label: i for i, label in enumerate(labels)}
    return _Encoded(hidden, torch.tensor([index[i.intent] for i in items], dtype=torch.long))


def _collate(rows: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    length = max(r.shape[0] for r in rows)
    hidden = torch.zeros(len(rows), length, rows[0].shape[1])
    mask = torch.zeros(len(rows), length, dtype=torch.long)
    for i, row in enumerate(rows):
        hidden[i, : row.shape[0]] = row
        mask[i, : row.shape[0]] = 1
    return hidden, mask


def _new_head(encoder: E5Encoder, config: TrainConfig, n_labels: int) -> IntentHead:
    torch.manual_seed(config.seed)
    return IntentHead(encoder, config.tuned_layers, n_labels, config.dropout)


def _fit(
    head: IntentHead,
    data: _Encoded,
    n_labels: int,
    config: TrainConfig,
    progress: Progress | None,
    stage: str,
) -> None:
    counts = torch.bincount(data.labels, minlength=n_labels).float().clamp(min=1.0)
    weights = counts.sum() / (n_labels * counts)
    loss_fn = nn.CrossEntropyLoss(weight=weights, label_smoothing=config.label_smoothing)
    groups = [{"params": list(head.classifier.parameters()), "lr": config.lr_head}]
    if len(head.layers):
        groups.append({"params": list(head.layers.parameters()), "lr": config.lr_layers})
    optimiser = torch.optim.AdamW(groups, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(data.hidden) / config.batch_size)
    total = steps_per_epoch * config.epochs
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=[config.lr_head, config.lr_layers][: len(groups)], total_steps=total, pct_start=0.1
    )
    generator = torch.Generator().manual_seed(config.seed)
    head.train()
    step = 0
    for _ in range(config.epochs):
        order = torch.randperm(len(data.hidden), generator=generator)
        for start in range(0, len(order), config.batch_size):
            idx = order[start : start + config.batch_size].tolist()
            hidden, mask = _collate([data.hidden[i] for i in idx])
            loss = loss_fn(head(hidden, mask), data.labels[idx])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            scheduler.step()
            step += 1
            if progress:
                progress(stage, step, total)
    head.eval()


def _logits(head: IntentHead, data: _Encoded) -> torch.Tensor:
    out: list[torch.Tensor] = []
    with torch.inference_mode():
        for start in range(0, len(data.hidden), 64):
            hidden, mask = _collate(data.hidden[start : start + 64])
            out.append(head(hidden, mask))
    return torch.cat(out) if out else torch.zeros(0, head.classifier.out_features)


def _temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    log_t = torch.zeros(1, requires_grad=True)
    optimiser = torch.optim.LBFGS([log_t], lr=0.1, max_iter=100)

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = nn.functional.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimiser.step(closure)  # type: ignore[no-untyped-call]
    return float(log_t.detach().exp().clamp(0.05, 20.0))


def _calibrate(
    logits: torch.Tensor, labels: torch.Tensor, names: list[str], config: TrainConfig
) -> Calibration:
    if len(labels) == 0:
        return Calibration(1.0, 0.0, float("nan"), None, 0)
    temperature = _temperature(logits.detach(), labels)
    probs = torch.softmax(logits / temperature, dim=-1)
    confidence, predicted = probs.max(dim=-1)
    oos = names.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in names else -1
    good = (predicted == labels) & (labels != oos)
    threshold = float(torch.quantile(confidence[good], config.in_scope_rejection)) if good.any() else 0.0
    final = torch.where(confidence >= threshold, predicted, torch.full_like(predicted, oos))
    accuracy = float((final == labels).float().mean())
    is_oos = labels == oos
    recall = float((final[is_oos] == oos).float().mean()) if is_oos.any() else None
    pairs = Counter(
        (names[g], names[p]) for g, p in zip(labels.tolist(), final.tolist(), strict=True) if g != p
    )
    confusions = tuple((g, p, n) for (g, p), n in pairs.most_common(20))
    return Calibration(temperature, threshold, accuracy, recall, len(labels), confusions)


def train_intent_head(
    encoder: E5Encoder, items: Sequence[ModelInput], config: TrainConfig, progress: Progress | None = None
) -> TrainOutcome:
    """Train, calibrate and retrain as described in the module docstring."""
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    labels = sorted({i.intent for i in items})
    if OUT_OF_SCOPE not in labels:
        labels.append(OUT_OF_SCOPE)
        labels.sort()
    split = encoder.num_layers - config.tuned_layers
    fit_items, held_items = _split(items, config.holdout_fraction, config.seed)

    def expand(group: Sequence[ModelInput]) -> list[ModelInput]:
        return [v for item in group for v in _variants(item)] if config.augment else list(group)

    fit_expanded = expand(fit_items)
    all_expanded = expand(items)
    # Encode every distinct text once; both training runs reuse the frozen outputs.
    distinct = list(dict.fromkeys([*all_expanded, *held_items]))
    encoded = _encode(encoder, distinct, labels, split, progress, "encode")
    position = {item: i for i, item in enumerate(distinct)}

    def subset(group: Sequence[ModelInput]) -> _Encoded:
        idx = [position[i] for i in group]
        return _Encoded([encoded.hidden[i] for i in idx], encoded.labels[idx])

    head = _new_head(encoder, config, len(labels))
    _fit(head, subset(fit_expanded), len(labels), config, progress, "calibration run")
    held = subset(held_items)
    calibration = _calibrate(_logits(head, held), held.labels, labels, config)

    head = _new_head(encoder, config, len(labels))
    _fit(head, subset(all_expanded), len(labels), config, progress, "final run")
    return TrainOutcome(head, labels, calibration, time.perf_counter() - started, len(all_expanded))

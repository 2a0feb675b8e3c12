"""Training of the intent model: frozen bottom of e5, fine-tuned top layers + linear head + example bank.

Steps (all deterministic for a given seed, on one CPU thread):

1. split the TRAINING examples, stratified by (language, intent), into a fit part and a
   held-out part (``holdout_fraction``); no evaluation set is ever seen here;
2. augment the fit part (punctuation-free and lower-case variants);
3. run the frozen e5 layers once per example and keep their output;
4. fine-tune the top layers and the head on the fit part: class-weighted cross-entropy plus a
   supervised contrastive loss on the sentence embedding (``contrastive_weight``);
5. calibrate on the held-out part, with an example bank of the fit part only (so a held-out line
   never finds itself): the head's temperature (NLL), then the bank's weight and temperature
   (the fused distribution's log-loss over a small grid), then the out-of-scope threshold
   (best mean of held-out in-scope accuracy and out-of-scope recall, bounded by
   ``in_scope_rejection``);
6. optionally (``refit_on_all``) train again from the same start on all examples; the
   calibration from step 5 is kept either way;
7. embed every training example (fit and held-out) with the final head: that is the bank the
   classifier searches at run time.
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

from vtm.nlu.model.bank import ExampleBank, fuse
from vtm.nlu.model.config import TrainConfig
from vtm.nlu.model.encoder import E5Encoder
from vtm.nlu.model.head import IntentHead

__all__ = ["Calibration", "ModelInput", "Progress", "TrainOutcome", "supervised_contrastive", "train_intent_head"]

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
    knn_weight: float = 0.0
    knn_temperature: float = 0.05
    holdout_head_accuracy: float | None = None  # the head alone, same threshold rule: what the bank adds


@dataclass(frozen=True)
class TrainOutcome:
    head: IntentHead
    labels: list[str]
    calibration: Calibration
    train_seconds: float
    fit_examples: int
    bank: ExampleBank


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


def supervised_contrastive(
    embedded: torch.Tensor, labels: torch.Tensor, temperature: float, exclude: int = -1
) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al., 2020) over L2-normalised ``embedded [B, H]``.

    Each anchor is pulled towards the other rows of its label and pushed from all the rest.
    Rows labelled ``exclude`` (out_of_scope: no common meaning to cluster around) and rows with
    no same-label partner in the batch are not anchors, but stay negatives for the others.
    Returns 0 when no row is an anchor.
    """
    similarity = embedded @ embedded.T / temperature
    eye = torch.eye(len(labels), dtype=torch.bool)
    similarity = similarity.masked_fill(eye, float("-inf"))
    log_prob = similarity - torch.logsumexp(similarity, dim=1, keepdim=True)
    positive = (labels[:, None] == labels[None, :]) & ~eye
    anchors = positive.any(dim=1) & (labels != exclude)
    if not anchors.any():
        return embedded.sum() * 0.0
    pos_log_prob = log_prob.masked_fill(~positive, 0.0).sum(dim=1) / positive.sum(dim=1).clamp(min=1)
    return -pos_log_prob[anchors].mean()


def _fit(
    head: IntentHead,
    data: _Encoded,
    n_labels: int,
    config: TrainConfig,
    progress: Progress | None,
    stage: str,
    oos_index: int,
) -> None:
    counts = torch.bincount(data.labels, minlength=n_labels).float().clamp(min=1.0)
    weights = counts.sum() / (n_labels * counts)
    loss_fn = nn.CrossEntropyLoss(weight=weights, label_smoothing=config.label_smoothing)
    groups = [{"params": list(head.classifier.parameters()), "lr": config.lr_head}]
    if len(head.layers):
        groups.append({"params": list(head.layers.parameters()), "lr": config.lr_layers})
    optimiser = torch.optim.AdamW(groups, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(data.hidden) / config.batch_size)
    # OneCycleLR divides by the length of its warm-up phase, which must be at least one step: a tiny
    # set (a test's slice) gets a longer warm-up share and a schedule of at least 4 steps. Real sets
    # have hundreds of steps and keep the 10 % warm-up.
    total = max(steps_per_epoch * config.epochs, 4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=[config.lr_head, config.lr_layers][: len(groups)], total_steps=total,
        pct_start=min(0.5, max(0.1, 2.0 / total)),
    )
    generator = torch.Generator().manual_seed(config.seed)
    head.train()
    step = 0
    for _ in range(config.epochs):
        order = torch.randperm(len(data.hidden), generator=generator)
        for start in range(0, len(order), config.batch_size):
            idx = order[start : start + config.batch_size].tolist()
            hidden, mask = _collate([data.hidden[i] for i in idx])
            embedded = head.embed(hidden, mask)
            loss = loss_fn(head.logits(embedded), data.labels[idx])
            if config.contrastive_weight:
                loss = loss + config.contrastive_weight * supervised_contrastive(
                    embedded, data.labels[idx], config.contrastive_temperature, oos_index
                )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            scheduler.step()
            step += 1
            if progress:
                progress(stage, step, total)
    head.eval()


def _embed(head: IntentHead, data: _Encoded) -> torch.Tensor:
    # no_grad, not inference_mode: calibration later optimises a temperature over these tensors.
    out: list[torch.Tensor] = []
    with torch.no_grad():
        for start in range(0, len(data.hidden), 64):
            hidden, mask = _collate(data.hidden[start : start + 64])
            out.append(head.embed(hidden, mask))
    return torch.cat(out) if out else torch.zeros(0, head.classifier.in_features)


def _logits(head: IntentHead, embedded: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return head.logits(embedded)


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


def _threshold(
    probs: torch.Tensor, labels: torch.Tensor, oos: int, config: TrainConfig
) -> tuple[float, torch.Tensor]:
    """The out-of-scope threshold in the middle of the best balanced held-out scores, at most the bound.

    The score is the mean of in-scope accuracy and out-of-scope recall: out-of-scope lines are
    about a tenth of the held-out part, so plain accuracy would all but ignore them, while the
    kiosk is judged on both. Candidates are the held-out confidences themselves (and 0). The
    bound is the ``in_scope_rejection`` quantile of the confidence of correctly classified
    in-scope lines: a threshold above it would turn away more in-scope customers than the
    configuration allows. The held-out part is small, so the score curve is a plateau with
    spikes of one or two lines: every candidate within ``threshold_plateau`` of the best score
    is equally good, and the median of them is kept (the highest, kept before, moved by 0.06
    between two trainings on nearly the same data).
    """
    confidence, predicted = probs.max(dim=-1)
    good = (predicted == labels) & (labels != oos)
    bound = float(torch.quantile(confidence[good], config.in_scope_rejection)) if good.any() else 0.0
    is_oos = labels == oos
    scored: list[tuple[float, float]] = []
    for candidate in sorted({0.0, *(c for c in confidence.tolist() if c <= bound)}):
        final = torch.where(confidence >= candidate, predicted, torch.full_like(predicted, oos))
        right = final == labels
        in_scope = float(right[~is_oos].float().mean()) if (~is_oos).any() else 1.0
        recall = float(right[is_oos].float().mean()) if is_oos.any() else 1.0
        scored.append((candidate, (in_scope + recall) / 2))
    best_score = max(score for _, score in scored)
    plateau = [candidate for candidate, score in scored if score >= best_score - config.threshold_plateau]
    best_threshold = plateau[(len(plateau) - 1) // 2]
    final = torch.where(confidence >= best_threshold, predicted, torch.full_like(predicted, oos))
    return best_threshold, final


def _log_loss(probs: torch.Tensor, labels: torch.Tensor) -> float:
    return float(-probs.gather(1, labels[:, None]).clamp(min=1e-9).log().mean())


def _calibrate(
    logits: torch.Tensor,
    embedded: torch.Tensor,
    labels: torch.Tensor,
    bank: ExampleBank,
    names: list[str],
    config: TrainConfig,
) -> Calibration:
    if len(labels) == 0:
        return Calibration(1.0, 0.0, float("nan"), None, 0)
    temperature = _temperature(logits.detach(), labels)
    head_probs = torch.softmax(logits / temperature, dim=-1)
    best: tuple[float, float, float] | None = None  # (log-loss, weight, knn temperature)
    for knn_temperature in config.knn_temperatures:
        votes = bank.vote(embedded, config.knn_k, knn_temperature)
        for weight in config.knn_weights:
            loss = _log_loss(fuse(head_probs, votes, weight), labels)
            if best is None or loss < best[0] - 1e-6:
                best = (loss, weight, knn_temperature)
    assert best is not None  # the config validates non-empty grids
    _, weight, knn_temperature = best
    probs = fuse(head_probs, bank.vote(embedded, config.knn_k, knn_temperature), weight)
    oos = names.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in names else -1
    threshold, final = _threshold(probs, labels, oos, config)
    _, head_final = _threshold(head_probs, labels, oos, config)
    accuracy = float((final == labels).float().mean())
    is_oos = labels == oos
    recall = float((final[is_oos] == oos).float().mean()) if is_oos.any() else None
    pairs = Counter(
        (names[g], names[p]) for g, p in zip(labels.tolist(), final.tolist(), strict=True) if g != p
    )
    confusions = tuple((g, p, n) for (g, p), n in pairs.most_common(20))
    return Calibration(
        temperature,
        threshold,
        accuracy,
        recall,
        len(labels),
        confusions,
        knn_weight=weight,
        knn_temperature=knn_temperature,
        holdout_head_accuracy=float((head_final == labels).float().mean()),
    )


def train_intent_head(
    encoder: E5Encoder, items: Sequence[ModelInput], config: TrainConfig, progress: Progress | None = None
) -> TrainOutcome:
    """Train, calibrate, optionally retrain, and build the example bank (see the module docstring)."""
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
    all_expanded = expand(items) if config.refit_on_all else []
    # Encode every distinct text once; the training runs and the bank reuse the frozen outputs.
    distinct = list(dict.fromkeys([*fit_expanded, *held_items, *all_expanded]))
    encoded = _encode(encoder, distinct, labels, split, progress, "encode")
    position = {item: i for i, item in enumerate(distinct)}

    def subset(group: Sequence[ModelInput]) -> _Encoded:
        idx = [position[i] for i in group]
        return _Encoded([encoded.hidden[i] for i in idx], encoded.labels[idx])

    oos_index = labels.index(OUT_OF_SCOPE)
    head = _new_head(encoder, config, len(labels))
    _fit(head, subset(fit_expanded), len(labels), config, progress, "training run", oos_index)
    fit_plain = subset(fit_items)
    fit_bank = ExampleBank(_embed(head, fit_plain), fit_plain.labels, len(labels))
    held = subset(held_items)
    held_embedded = _embed(head, held)
    calibration = _calibrate(
        _logits(head, held_embedded), held_embedded, held.labels, fit_bank, labels, config
    )

    if config.refit_on_all:
        head = _new_head(encoder, config, len(labels))
        _fit(head, subset(all_expanded), len(labels), config, progress, "final run", oos_index)
    everything = subset(items)
    bank = ExampleBank(_embed(head, everything), everything.labels, len(labels))
    fitted = len(all_expanded) if config.refit_on_all else len(fit_expanded)
    return TrainOutcome(head, labels, calibration, time.perf_counter() - started, fitted, bank)

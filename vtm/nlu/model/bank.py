"""Nearest neighbours over the training examples, fused with the linear head.

A linear head draws one boundary per intent; an utterance phrased like a handful of training
lines but unlike the rest (a colloquial turn, a question about a task) can land on the wrong side
of it while sitting right next to those lines. The bank keeps every training example's embedding
(:meth:`IntentHead.embed`, shaped by the contrastive loss) and votes with the ``k`` nearest, each
weighted by ``exp(cosine / temperature)``. The classifier mixes that vote with the head's
calibrated distribution; the weight and the temperature are chosen on held-out training data
(``vtm.nlu.model.train``), never on an evaluation set.

Usage::

    bank = ExampleBank(embeddings, label_ids, n_labels=16)
    votes = bank.vote(query_embeddings, k=10, temperature=0.05)   # [B, 16], rows sum to 1
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["ExampleBank", "fuse"]


@dataclass(frozen=True)
class ExampleBank:
    """``embeddings [N, H]`` (L2-normalised) with the label index of each row ``labels [N]``."""

    embeddings: torch.Tensor
    labels: torch.Tensor
    n_labels: int

    def __post_init__(self) -> None:
        if self.embeddings.ndim != 2 or self.labels.shape != (self.embeddings.shape[0],):
            raise ValueError(
                f"bank shapes disagree: embeddings {tuple(self.embeddings.shape)}, labels {tuple(self.labels.shape)}"
            )

    def __len__(self) -> int:
        return int(self.embeddings.shape[0])

    def vote(self, queries: torch.Tensor, k: int, temperature: float) -> torch.Tensor:
        """Distribution over labels ``[B, n_labels]`` from the ``k`` most similar examples."""
        if len(self) == 0:
            return torch.full((queries.shape[0], self.n_labels), 1.0 / self.n_labels)
        similarity = queries @ self.embeddings.T
        top, index = similarity.topk(min(k, len(self)), dim=-1)
        # Subtracting the best similarity keeps exp() in range; it cancels in the normalisation.
        weights = torch.exp((top - top[:, :1]) / temperature)
        votes = torch.zeros(queries.shape[0], self.n_labels, dtype=weights.dtype)
        votes.scatter_add_(1, self.labels[index], weights)
        return votes / votes.sum(dim=-1, keepdim=True)


def fuse(head_probs: torch.Tensor, votes: torch.Tensor, weight: float) -> torch.Tensor:
    """``(1 - weight) * head + weight * votes``: a mixture, so rows still sum to 1."""
    return (1.0 - weight) * head_probs + weight * votes

"""The trainable part of the intent model: the top e5 layers, mean pooling and a linear layer.

The bottom ``12 - tuned_layers`` e5 layers stay frozen and shared with nothing else; their output
for a training example never changes, so training computes it once and then runs only this
module, epoch after epoch. At inference the same split is applied to one utterance.

:meth:`IntentHead.embed` is the sentence embedding the linear layer reads; training shapes it
with a contrastive loss as well, and the example bank (``vtm.nlu.model.bank``) searches it.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from vtm.nlu.model.encoder import E5Encoder, mean_pool

__all__ = ["IntentHead"]


class IntentHead(nn.Module):
    """``logits = W · normalize(mean_pool(top_layers(hidden))) + b``."""

    def __init__(self, encoder: E5Encoder, tuned_layers: int, num_labels: int, dropout: float) -> None:
        super().__init__()
        first = encoder.num_layers - tuned_layers
        self.split = first
        self.layers = nn.ModuleList(
            copy.deepcopy(encoder.model.encoder.layer[i]) for i in range(first, encoder.num_layers)
        )
        for parameter in self.layers.parameters():
            parameter.requires_grad_(True)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(encoder.hidden_size, num_labels)
        # Normalised e5 embeddings have tiny coordinates; a fixed scale lets the linear layer
        # reach confident logits without huge weights (the usual cosine-classifier trick).
        self.scale = 20.0

    def embed(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """L2-normalised sentence embeddings ``[B, H]`` from the frozen layers' output ``hidden``."""
        extended = (1.0 - mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
        for block in self.layers:
            out = block(hidden, attention_mask=extended)
            hidden = out[0] if isinstance(out, tuple) else out
        return nn.functional.normalize(mean_pool(hidden, mask), dim=-1)

    def logits(self, embedded: torch.Tensor) -> torch.Tensor:
        """Intent logits ``[B, labels]`` for embeddings from :meth:`embed`."""
        return self.classifier(self.dropout(embedded) * self.scale)  # type: ignore[no-any-return]

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.logits(self.embed(hidden, mask))

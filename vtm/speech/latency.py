"""Per-turn timings: each stage's duration and voice-to-voice (end of speech -> reply audio ready).

Usage::

    clock = TurnClock(speech_end=utterance_end_monotonic)
    with clock.stage("asr"):
        transcript = recognizer.transcribe(audio, "zh")
    ...
    clock.reply_ready()
    record.latency_ms.update(clock.as_ms())
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

__all__ = ["STAGES", "TurnClock", "percentile"]

STAGES = ("end_of_speech", "asr", "nlu", "dialog", "gate", "core", "tts")


@dataclass
class TurnClock:
    """Collects stage durations for one turn (monotonic clock, seconds)."""

    speech_end: float = field(default_factory=time.monotonic)
    stages: dict[str, float] = field(default_factory=dict)
    voice_to_voice: float | None = None

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.monotonic() - started

    def add(self, name: str, seconds: float) -> None:
        """Record a duration measured elsewhere (e.g. end-of-turn wait, or gate time inside dialog)."""
        self.stages[name] = self.stages.get(name, 0.0) + seconds

    def reply_ready(self) -> float:
        """Mark the first reply audio as ready; returns voice-to-voice seconds."""
        self.voice_to_voice = time.monotonic() - self.speech_end
        return self.voice_to_voice

    def as_ms(self) -> dict[str, float]:
        out = {name: round(s * 1000, 2) for name, s in self.stages.items()}
        if self.voice_to_voice is not None:
            out["voice_to_voice"] = round(self.voice_to_voice * 1000, 2)
        return out


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    if not values:
        raise ValueError("percentile of no values")
    ranked = sorted(values)
    index = max(0, min(len(ranked) - 1, math.ceil(q / 100 * len(ranked)) - 1))
    return ranked[index]

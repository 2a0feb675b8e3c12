"""Listening: cut a stream of audio frames into customer turns (end-of-turn detection).

A turn ends after a stretch of trailing silence (longer in elderly mode), or at the maximum
utterance length. When the customer pauses inside a number ("我的卡号是六二二二 ... 三四五六"),
the wait is extended: at the first pause the caller's ``partial`` function (normally the ASR
run on the audio so far) says what was heard, and if it ends mid-number the detector waits
longer. The partial text is kept on the :class:`Utterance`: when no speech follows, it *is*
the transcript, already computed while the customer was silent.

Usage::

    detector = TurnDetector(ListenOptions(), elderly=False)
    for frame in microphone_frames():          # 512 float32 samples, 16 kHz
        if (turn := detector.push(frame)) is not None:
            handle(turn)

    turns = listen_file(Path("call.wav"))     # a WAV file as a simulated stream
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from vtm.speech.audio import SAMPLE_RATE, Audio, Samples, load_audio
from vtm.speech.vad import FRAME, StreamingVad

__all__ = [
    "ListenOptions",
    "TurnDetector",
    "TurnEnd",
    "Utterance",
    "ends_mid_number",
    "frames_of",
    "listen_file",
]

_FRAME_S = FRAME / SAMPLE_RATE
_NUMERAL_TAIL = re.compile(
    r"(?:\d|[零〇一二三四五六七八九十百千万两幺点]|\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|"
    r"sixty|seventy|eighty|ninety|hundred|thousand|point|and))$",
    re.IGNORECASE,
)


def ends_mid_number(text: str) -> bool:
    """True when the partial transcript ends in a digit, a numeral or a number word."""
    return bool(_NUMERAL_TAIL.search(re.sub(r"[\s\W_]+$", "", text)))


class TurnEnd(StrEnum):
    SILENCE = "silence"  # trailing silence long enough
    MAX_LENGTH = "max_length"  # the customer spoke for the maximum utterance length
    END_OF_STREAM = "end_of_stream"  # the input ended while speech was open


@dataclass(frozen=True)
class ListenOptions:
    """End-of-turn settings (seconds)."""

    speech_threshold: float = 0.5
    trailing_silence_s: float = 0.6
    elderly_trailing_silence_s: float = 1.2
    mid_number_extra_s: float = 0.8
    max_utterance_s: float = 15.0
    min_speech_s: float = 0.15  # shorter bursts (a cough, a click) are not a turn
    pre_roll_s: float = 0.2  # audio kept before the first speech frame
    partial_after_s: float = 0.25  # silence after which the partial transcript is asked for


@dataclass(frozen=True)
class Utterance:
    """One customer turn. Times are seconds from the start of the stream."""

    audio: Audio
    start_s: float
    speech_end_s: float  # end of the last speech frame: the voice-to-voice clock starts here
    decided_s: float  # when the detector decided the turn was over
    reason: TurnEnd
    partial: str | None = None  # transcript of exactly this audio, when already computed


class TurnDetector:
    """Frame-by-frame end-of-turn detector (one instance per microphone stream)."""

    def __init__(
        self,
        options: ListenOptions | None = None,
        *,
        elderly: bool = False,
        partial: Callable[[Audio], str] | None = None,
        vad: StreamingVad | None = None,
    ) -> None:
        self.options = options or ListenOptions()
        self.elderly = elderly
        self._partial = partial
        self._vad = vad or StreamingVad()
        self._frames: list[Samples] = []
        self._pre: list[Samples] = []
        self._clock = 0  # frames seen
        self._start = 0
        self._last_speech = 0
        self._speech_frames = 0
        self._partial_text: str | None = None

    @property
    def in_speech(self) -> bool:
        return bool(self._frames)

    def _silence_needed(self) -> float:
        base = self.options.elderly_trailing_silence_s if self.elderly else self.options.trailing_silence_s
        if self._partial_text is not None and ends_mid_number(self._partial_text):
            base += self.options.mid_number_extra_s
        return base

    def push(self, frame: Samples) -> Utterance | None:
        """Feed one 512-sample frame; returns an utterance when a turn has just ended."""
        speech = self._vad.probability(frame) >= self.options.speech_threshold
        self._clock += 1
        if not self._frames:
            if not speech:
                self._pre.append(frame)
                del self._pre[: -max(1, int(self.options.pre_roll_s / _FRAME_S))]
                return None
            self._frames = [*self._pre, frame]
            self._pre = []
            self._start = self._clock - len(self._frames)
            self._speech_frames = 0
            self._partial_text = None
        else:
            self._frames.append(frame)
        if speech:
            self._last_speech = self._clock
            self._speech_frames += 1
            self._partial_text = None  # new speech: an earlier partial is stale
        silence_s = (self._clock - self._last_speech) * _FRAME_S
        if self._partial and self._partial_text is None and silence_s >= self.options.partial_after_s:
            self._partial_text = self._partial(self._audio(len(self._frames)))
        if silence_s >= self._silence_needed():
            return self._close(TurnEnd.SILENCE)
        if len(self._frames) * _FRAME_S >= self.options.max_utterance_s:
            return self._close(TurnEnd.MAX_LENGTH)
        return None

    def flush(self) -> Utterance | None:
        """The input ended: close an open turn, if any."""
        return self._close(TurnEnd.END_OF_STREAM) if self._frames else None

    def _audio(self, frames: int) -> Audio:
        return Audio(np.concatenate(self._frames[:frames]).astype(np.float32))

    def _close(self, reason: TurnEnd) -> Utterance | None:
        enough = self._speech_frames * _FRAME_S >= self.options.min_speech_s
        utterance = (
            Utterance(
                audio=self._audio(len(self._frames)),
                start_s=self._start * _FRAME_S,
                speech_end_s=self._last_speech * _FRAME_S,
                decided_s=self._clock * _FRAME_S,
                reason=reason,
                # Set to None by any speech after it was computed, so it covers all the speech here.
                partial=self._partial_text,
            )
            if enough
            else None
        )
        self._frames, self._partial_text, self._speech_frames = [], None, 0
        return utterance


def frames_of(audio: Audio) -> list[Samples]:
    """Split audio into 512-sample frames (the last one zero-padded)."""
    samples = audio.samples
    pad = (-len(samples)) % FRAME
    padded = np.concatenate([samples, np.zeros(pad, dtype=np.float32)]) if pad else samples
    return list(padded.reshape(-1, FRAME))


def listen_file(
    path: Path,
    options: ListenOptions | None = None,
    *,
    elderly: bool = False,
    partial: Callable[[Audio], str] | None = None,
    max_seconds: float = 600.0,
) -> list[Utterance]:
    """Run the detector over a recording as if it arrived live; returns the turns found."""
    detector = TurnDetector(options, elderly=elderly, partial=partial)
    turns = [u for frame in frames_of(load_audio(path, max_seconds=max_seconds)) if (u := detector.push(frame))]
    if (last := detector.flush()) is not None:
        turns.append(last)
    return turns

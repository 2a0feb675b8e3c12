"""Listening: cut a stream of audio frames into customer turns (end-of-turn detection).

Voice activity (Silero) says when the customer is silent; a turn-completion model (Smart Turn,
:mod:`vtm.speech.smart_turn`) says whether what was said so far is a finished turn. After
``complete_s`` of silence the model is asked once: a complete turn ends there (about 200 ms,
the gap people leave between turns), an incomplete one ("转给……张三，呃……") waits up to
``incomplete_s`` for the customer to go on. Without a model the turn ends after
``silence_only_s``. Each situation has its own :class:`TurnWaits`: ordinary, elderly customers
(slower speech, longer pauses) and digit dictation (the kiosk asked for a card, account or ID
number); when several apply, the longest of each wait is used.

An "incomplete" verdict is re-checked every ``recheck_s`` (the model is sensitive to how much
silence it hears at the end). At the first "incomplete" (without a model: at the first pause)
the caller's ``partial`` function (normally the ASR on the audio so far) runs; if the text ends
mid-number ("我的卡号是六二二二 ... 三四五六") the waits grow by ``mid_number_extra_s``. The
partial text is kept on the :class:`Utterance`: when no speech follows, it *is* the transcript,
computed while the detector was still waiting.

Usage::

    detector = TurnDetector(ListenOptions(), completion=SmartTurn(smart_turn_dir(models)))
    detector.mode = ListenMode(elderly=session.elderly, digits=asking_for_a_card_number)
    for frame in microphone_frames():          # 512 float32 samples, 16 kHz
        if (turn := detector.push(frame)) is not None:
            handle(turn)

    turns = listen_file(Path("call.wav"))     # a WAV file as a simulated stream
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np

from vtm.speech.audio import SAMPLE_RATE, Audio, Samples, load_audio
from vtm.speech.smart_turn import TurnCompletion
from vtm.speech.vad import FRAME, StreamingVad

__all__ = [
    "BargeIn",
    "ListenMode",
    "ListenOptions",
    "TurnDetector",
    "TurnEnd",
    "TurnWaits",
    "Utterance",
    "ends_mid_number",
    "ends_open",
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


# Words a finished turn does not end on: fillers, and words that need something after them.
_OPEN_TAIL = re.compile(
    r"(?:呃|嗯|啊|那个|就是|然后|还有|给|转给|和|跟|到|在|把|是|的|我想|我要|请|帮我|"
    r"\b(?:uh|um|er|erm|hmm|well|so|and|or|but|to|the|a|an|my|of|for|at|with|from|is|are|like|want|"
    r"please|you know))$",
    re.IGNORECASE,
)


def ends_mid_number(text: str) -> bool:
    """True when the partial transcript ends in a digit, a numeral or a number word."""
    return bool(_NUMERAL_TAIL.search(re.sub(r"[\s\W_]+$", "", text)))


def ends_open(text: str) -> bool:
    """True when the partial transcript ends on a filler or a word that needs more ("转给", "to", "uh")."""
    return bool(_OPEN_TAIL.search(re.sub(r"[\s\W_]+$", "", text))) or ends_mid_number(text)


class TurnEnd(StrEnum):
    COMPLETE = "complete"  # short silence, and the completion model says the turn is finished
    SILENCE = "silence"  # trailing silence long enough (no model, or the model said incomplete)
    MAX_LENGTH = "max_length"  # the customer spoke for the maximum utterance length
    END_OF_STREAM = "end_of_stream"  # the input ended while speech was open


@dataclass(frozen=True)
class TurnWaits:
    """Trailing-silence waits (seconds) for one listening situation."""

    complete_s: float  # silence after which the completion model is asked; "complete" ends the turn here
    incomplete_s: float  # the model said "incomplete": the turn still ends after this much silence
    silence_only_s: float  # no completion model: the one fixed wait

    def longest(self, other: TurnWaits) -> TurnWaits:
        return TurnWaits(max(self.complete_s, other.complete_s), max(self.incomplete_s, other.incomplete_s),
                         max(self.silence_only_s, other.silence_only_s))


@dataclass(frozen=True)
class ListenMode:
    """What the kiosk knows about the coming turn: an elderly customer, a number being dictated."""

    elderly: bool = False
    digits: bool = False


@dataclass(frozen=True)
class ListenOptions:
    """End-of-turn settings (seconds). Figures behind the defaults: ``bench/voice.py --end-of-turn``."""

    speech_threshold: float = 0.5
    waits: TurnWaits = field(default_factory=lambda: TurnWaits(complete_s=0.2, incomplete_s=1.5, silence_only_s=0.6))
    elderly_waits: TurnWaits = field(default_factory=lambda: TurnWaits(0.5, 2.5, 1.2))
    digits_waits: TurnWaits = field(default_factory=lambda: TurnWaits(0.5, 2.5, 1.2))
    complete_threshold: float = 0.5  # completion probability at or above which the turn is finished
    recheck_s: float = 0.25  # "incomplete": ask the model again after this much more silence
    mid_number_extra_s: float = 0.8
    max_utterance_s: float = 15.0
    min_speech_s: float = 0.15  # shorter bursts (a cough, a click) are not a turn
    pre_roll_s: float = 0.2  # audio kept before the first speech frame
    partial_after_s: float = 0.25  # no model: silence after which the partial transcript is asked for

    def waits_for(self, mode: ListenMode) -> TurnWaits:
        waits = self.waits
        if mode.elderly:
            waits = waits.longest(self.elderly_waits)
        if mode.digits:
            waits = waits.longest(self.digits_waits)
        return waits


@dataclass(frozen=True)
class Utterance:
    """One customer turn. Times are seconds from the start of the stream."""

    audio: Audio
    start_s: float
    speech_end_s: float  # end of the last speech frame: the voice-to-voice clock starts here
    decided_s: float  # when the detector decided the turn was over (stream time)
    reason: TurnEnd
    partial: str | None = None  # transcript of exactly this audio, when already computed
    completion: float | None = None  # the completion model's probability at the last pause, when asked
    completion_s: float = 0.0  # wall time of that model call (on the critical path: add it to the wait)
    partial_at_s: float | None = None  # silence after the speech at which ``partial`` was started


class TurnDetector:
    """Frame-by-frame end-of-turn detector (one instance per microphone stream)."""

    def __init__(
        self,
        options: ListenOptions | None = None,
        *,
        elderly: bool = False,
        partial: Callable[[Audio], str] | None = None,
        vad: StreamingVad | None = None,
        completion: TurnCompletion | None = None,
        mode: ListenMode | None = None,
    ) -> None:
        self.options = options or ListenOptions()
        self.mode = mode or ListenMode(elderly=elderly)
        self._partial = partial
        self._completion = completion
        self._vad = vad or StreamingVad()
        self._frames: list[Samples] = []
        self._pre: list[Samples] = []
        self._clock = 0  # frames seen
        self._start = 0
        self._last_speech = 0
        self._speech_frames = 0
        self._partial_text: str | None = None
        self._complete_p: float | None = None  # the model's latest verdict on the current pause
        self._complete_s = 0.0
        self._next_check_s = 0.0  # silence (s) at which the model is asked again
        self._partial_at_s = 0.0  # silence (s) at which the partial transcript was started

    @property
    def elderly(self) -> bool:
        return self.mode.elderly

    @elderly.setter
    def elderly(self, value: bool) -> None:
        self.mode = ListenMode(elderly=value, digits=self.mode.digits)

    @property
    def in_speech(self) -> bool:
        return bool(self._frames)

    def _decide(self, silence_s: float) -> TurnEnd | None:
        """Called on every silent frame of an open turn: end it now, or keep listening."""
        options = self.options
        waits = options.waits_for(self.mode)
        if self._completion is None:
            if silence_s >= options.partial_after_s:
                self._run_partial(silence_s)
            return TurnEnd.SILENCE if silence_s >= waits.silence_only_s + self._extra() else None
        if silence_s >= waits.incomplete_s + self._extra():
            return TurnEnd.SILENCE
        if silence_s < waits.complete_s + self._extra() or silence_s < self._next_check_s:
            return None
        started = time.perf_counter()
        self._complete_p = self._completion.probability(self._audio(len(self._frames)).samples)
        self._complete_s = time.perf_counter() - started
        self._next_check_s = silence_s + options.recheck_s
        if self._complete_p >= options.complete_threshold:
            return TurnEnd.COMPLETE
        # Incomplete: the wait is long, so transcribe now; if the customer says no more, this is the transcript.
        self._run_partial(silence_s)
        return None

    def _extra(self) -> float:
        mid_number = self._partial_text is not None and ends_mid_number(self._partial_text)
        return self.options.mid_number_extra_s if mid_number else 0.0

    def _run_partial(self, silence_s: float) -> None:
        if self._partial is not None and self._partial_text is None:
            self._partial_at_s = silence_s
            self._partial_text = self._partial(self._audio(len(self._frames)))

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
            self._partial_text = None  # new speech: an earlier partial or verdict is stale
            self._complete_p, self._next_check_s = None, 0.0
        silence_s = (self._clock - self._last_speech) * _FRAME_S
        if not speech and (reason := self._decide(silence_s)) is not None:
            return self._close(reason)
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
                completion=self._complete_p,
                completion_s=self._complete_s if self._complete_p is not None else 0.0,
                partial_at_s=self._partial_at_s if self._partial_text is not None else None,
            )
            if enough
            else None
        )
        self._frames, self._partial_text, self._speech_frames = [], None, 0
        self._complete_p, self._next_check_s = None, 0.0
        return utterance


class BargeIn:
    """Customer speech over an *interruptible* reply: sustained voice activity above a stricter bar.

    Fed the microphone's frames while the kiosk speaks (never while a reply that must be heard
    plays). :meth:`push` returns True once speech has lasted ``seconds`` at a probability of at
    least ``threshold`` (stricter than the detector's: the kiosk's own voice may leak past the echo
    cancellation). The frames of that speech, and ``pre_roll_s`` before it, are kept in
    :attr:`held`: the caller stops the reply and feeds them to the end-of-turn detector, so the
    customer's first words are not lost. ``seconds`` 0 disables barge-in.
    """

    def __init__(self, threshold: float = 0.8, seconds: float = 0.3, pre_roll_s: float = 0.2,
                 vad: StreamingVad | None = None) -> None:
        self.threshold = threshold
        self.enabled = seconds > 0
        self._needed = max(1, round(seconds / _FRAME_S))
        self._keep = self._needed + max(0, round(pre_roll_s / _FRAME_S))
        self._vad = vad
        self._voiced = 0
        self.held: list[Samples] = []

    def push(self, frame: Samples) -> bool:
        """One frame heard while an interruptible reply plays; True: the customer is talking over it."""
        if not self.enabled:
            return False
        if self._vad is None:
            self._vad = StreamingVad()
        loud = self._vad.probability(frame) >= self.threshold
        self._voiced = self._voiced + 1 if loud else 0
        self.held.append(frame)
        del self.held[: -self._keep]
        return self._voiced >= self._needed

    def reset(self) -> list[Samples]:
        """Start over (a new reply, or after a barge-in); returns the frames held until now."""
        held, self.held, self._voiced = self.held, [], 0
        if self._vad is not None:
            self._vad.reset()
        return held


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
    completion: TurnCompletion | None = None,
    max_seconds: float = 600.0,
) -> list[Utterance]:
    """Run the detector over a recording as if it arrived live; returns the turns found."""
    detector = TurnDetector(options, elderly=elderly, partial=partial, completion=completion)
    turns = [u for frame in frames_of(load_audio(path, max_seconds=max_seconds)) if (u := detector.push(frame))]
    if (last := detector.flush()) is not None:
        turns.append(last)
    return turns

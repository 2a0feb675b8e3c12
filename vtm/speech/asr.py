"""Speech recognition: faster-whisper (CTranslate2, int8, CPU), offline, bounded in time.

Decoding is greedy-safe for a kiosk: ``temperature=0`` only (the fallback ladder had 20 s worst
cases), no conditioning on previous text, no timestamps, a bounded number of new tokens, and
the Silero VAD filter. The language comes from the session; it is detected (between zh and en
only) when the caller does not know it.

What is *not* heard well is said so: a :class:`Transcript` whose ``usable`` is False carries
the reason (silence, no speech, low confidence, repetition loop) and an empty ``text``, so the
dialog asks the customer to repeat instead of acting on a guess.

Usage::

    recognizer = Recognizer(models_path / "whisper-base")
    result = recognizer.transcribe(load_audio(path), lang="zh")
    if result.usable:
        dialog.handle_text(result.text, asr_confidence=result.confidence)
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from vtm.speech.audio import Audio, load_audio
from vtm.speech.errors import AudioTooLong, ModelUnavailable
from vtm.speech.whisper_files import WHISPER_FILES

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

__all__ = ["AsrOptions", "Lang", "Recognizer", "Segment", "Transcript", "Unheard"]

Lang = Literal["zh", "en"]
_LANGS: tuple[Lang, ...] = ("zh", "en")
# Languages Whisper confuses with Mandarin; at a zh/en kiosk their probability counts for zh.
_ZH_LIKE = ("zh", "yue", "th", "vi", "lo", "my")
_PUNCT = re.compile(r"[\W_]+", re.UNICODE)
# The same non-digit character (or pair) four times in a row: a decoder loop, not speech.
_LOOP = re.compile(r"(\D{1,2}?)\1{3,}")


class Unheard(StrEnum):
    """Why nothing usable was heard."""

    SILENCE = "silence"  # the VAD found no speech at all
    NO_SPEECH = "no_speech"  # Whisper itself says there is no speech
    LOW_CONFIDENCE = "low_confidence"
    REPETITION = "repetition"  # decoder loop ("万万万万...")
    EMPTY = "empty"  # speech, but no words came out


@dataclass(frozen=True)
class AsrOptions:
    """Decoding and acceptance settings (defaults measured in ``bench/asr.py``)."""

    beam_size: int = 5
    max_new_tokens: int = 96  # hard cap; per utterance also tokens_per_s x duration + 12
    tokens_per_s: float = 10.0  # fast Mandarin is ~5 characters/s, ~1.5 tokens each
    chunk_length: int | None = None  # faster-whisper's segment length (its encoder still pads to 30 s)
    # One thread: in the kiosk the completion model and the VAD run beside the decoder, and with the
    # 10 s window one thread gave the shorter voice to voice (ASR p50 240 against 396 ms, bench/voice.py).
    cpu_threads: int = 1
    # The encoder's window: the speech plus ``encoder_pad_s``, at least ``encoder_min_s`` (None: Whisper's
    # whole 30 s window). 10 s / 1 s cut recognition time 2.5x at equal accuracy (docs/benchmarks.md).
    encoder_min_s: float | None = 10.0
    encoder_pad_s: float = 1.0
    vad_threshold: float = 0.5
    vad_min_silence_ms: int = 500
    prompt_zh: str | None = "以下是普通话的句子。"
    # Words Whisper is nudged toward in Mandarin (faster-whisper ``hotwords``, put before the prompt).
    # Off: the kiosk's own words cost accuracy and doubled decode time on held-out sentences
    # (docs/benchmarks.md, "Human voice").
    hotwords_zh: str | None = None
    min_confidence: float = 0.30
    max_no_speech_prob: float = 0.6
    max_compression_ratio: float = 2.4
    max_audio_s: float = 30.0
    sure_language: float = 0.7  # below this detected-language probability, decode both zh and en


@dataclass(frozen=True)
class Segment:
    """One decoded segment (our own type: faster-whisper's never leaves this module)."""

    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float


@dataclass(frozen=True)
class Transcript:
    """What was heard. ``text`` is empty unless ``usable``; ``heard`` keeps the raw decode for audit."""

    text: str
    lang: Lang
    confidence: float
    audio_s: float
    asr_s: float
    unheard: Unheard | None = None
    heard: str = ""
    clipped: bool = False
    prompt_retried: bool = False
    segments: tuple[Segment, ...] = field(default=())

    @property
    def usable(self) -> bool:
        return self.unheard is None

    def to_json(self) -> dict[str, Any]:
        """The ``vtm asr --json`` object: the contract keys first, then ``usable`` and ``reason``."""
        return {
            "text": self.text,
            "lang": self.lang,
            "confidence": round(self.confidence, 3),
            "audio_s": round(self.audio_s, 3),
            "asr_s": round(self.asr_s, 3),
            "usable": self.usable,
            "reason": self.unheard.value if self.unheard else None,
            "clipped": self.clipped,
            "segments": [asdict(s) for s in self.segments],
        }


def _norm(text: str) -> str:
    return _PUNCT.sub("", text)


def _prompt_leaked(text: str, prompt: str, span: int = 4) -> bool:
    """True when ``span`` or more consecutive characters of the prompt appear in the text."""
    core, heard = _norm(prompt), _norm(text)
    return any(core[i : i + span] in heard for i in range(len(core) - span + 1))


def _confidence(segments: list[Segment]) -> float:
    """Length-weighted exp(avg_logprob) x (1 - no_speech_prob): a probability-like 0..1 score."""
    weights = [max(len(_norm(s.text)), 1) for s in segments]
    scores = [math.exp(s.avg_logprob) * (1.0 - s.no_speech_prob) for s in segments]
    return sum(w * s for w, s in zip(weights, scores, strict=True)) / sum(weights)


class Recognizer:
    """faster-whisper behind one method; the model loads lazily, once, thread-safely."""

    def __init__(self, model_dir: Path, options: AsrOptions | None = None) -> None:
        self.model_dir = model_dir
        self.options = options or AsrOptions()
        self._model: WhisperModel | None = None
        self._lock = threading.Lock()

    # Loading ---------------------------------------------------------------------------------
    def model(self) -> WhisperModel:
        with self._lock:
            if self._model is None:
                missing = [f for f in WHISPER_FILES if not (self.model_dir / f).is_file()]
                if missing:
                    raise ModelUnavailable(
                        f"Whisper model folder {self.model_dir} lacks {', '.join(missing)}; run `vtm models prepare`"
                    )
                from faster_whisper import WhisperModel

                from vtm.speech.whisper_window import WindowedWhisper

                common: dict[str, Any] = {"device": "cpu", "compute_type": "int8", "num_workers": 1,
                                          "cpu_threads": self.options.cpu_threads, "local_files_only": True}
                window = self.options.encoder_min_s
                self._model = WhisperModel(str(self.model_dir), **common) if window is None else WindowedWhisper(
                    str(self.model_dir), min_frames=round(window * 100),
                    pad_frames=round(self.options.encoder_pad_s * 100), **common)
            return self._model

    def warm_up(self) -> None:
        """Load the model and run one full decode, so the first customer does not pay for it.

        The input is 1 s of quiet noise with the VAD filter off: with the filter on, silence is
        dropped before the encoder and nothing would run (the first real decode then took 4.2 s
        against 1.4 s for the next ones, measured under load).
        """
        import numpy as np

        noise = np.random.default_rng(0).normal(0.0, 0.01, 16_000).astype(np.float32)
        self._decode(noise, "zh", prompt=self.options.prompt_zh, vad=False)

    # Recognition -----------------------------------------------------------------------------
    def detect_language(self, audio: Audio) -> tuple[Lang, float]:
        """zh or en (the only languages offered at the kiosk) and how sure Whisper is (0..1).

        Whisper often labels Mandarin with a robotic or strong regional voice as another tonal
        language (Thai, Vietnamese, Cantonese: measured on espeak-ng Mandarin), so the evidence
        for zh is the sum over those, against English alone.
        """
        _, _, ranked = self.model().detect_language(audio=audio.samples, vad_filter=True)
        probs = dict(ranked)
        zh_like = sum(probs.get(code, 0.0) for code in _ZH_LIKE)
        english = probs.get("en", 0.0)
        return ("zh", zh_like) if zh_like >= english else ("en", english)

    def transcribe(self, audio: Audio | Path | bytes, lang: Lang | None = None) -> Transcript:
        """Recognise one utterance. ``lang=None`` detects zh/en (slower: avoid when the session knows).

        When detection is unsure (below ``options.sure_language``), the utterance is decoded in
        both languages and the more confident reading wins: twice the time, but only on a turn
        whose language nobody knows (before the customer picked one).
        """
        opts = self.options
        if not isinstance(audio, Audio):
            audio = load_audio(audio, max_seconds=opts.max_audio_s)
        elif audio.duration_s > opts.max_audio_s:
            raise AudioTooLong(
                f"{audio.duration_s:.1f} s of audio is longer than the {opts.max_audio_s:.0f} s allowed",
                audio.duration_s,
                opts.max_audio_s,
            )
        started = time.perf_counter()
        if not self._has_speech(audio):
            return Transcript(
                "",
                lang or "zh",
                0.0,
                audio.duration_s,
                time.perf_counter() - started,
                Unheard.SILENCE,
                clipped=audio.clipped,
            )
        if lang is not None:
            return self._recognise(audio, lang, started)
        language, sureness = self.detect_language(audio)
        if sureness >= opts.sure_language:
            return self._recognise(audio, language, started)
        readings = [self._recognise(audio, candidate, started) for candidate in _LANGS]
        best = max(readings, key=lambda t: (t.usable, t.confidence))
        return replace(best, asr_s=time.perf_counter() - started)

    def _recognise(self, audio: Audio, language: Lang, started: float) -> Transcript:
        opts = self.options
        prompt = opts.prompt_zh if language == "zh" else None
        segments = self._decode(audio.samples, language, prompt)
        heard = "".join(s.text for s in segments).strip()
        retried = False
        if prompt and _prompt_leaked(heard, prompt):
            # The decoder copied its prompt: decode again without one rather than trust it.
            segments = self._decode(audio.samples, language, prompt=None)
            heard = "".join(s.text for s in segments).strip()
            retried = True
        if language == "zh":
            import zhconv

            heard = str(zhconv.convert(heard, "zh-cn"))
        elapsed = time.perf_counter() - started
        confidence = _confidence(segments) if segments else 0.0
        verdict = self._judge(heard, segments, confidence)
        return Transcript(
            heard if verdict is None else "",
            language,
            confidence,
            audio.duration_s,
            elapsed,
            verdict,
            heard=heard,
            clipped=audio.clipped,
            prompt_retried=retried,
            segments=tuple(segments),
        )

    # Internals -------------------------------------------------------------------------------
    def _vad_parameters(self) -> dict[str, Any]:
        return {
            "threshold": self.options.vad_threshold,
            "min_silence_duration_ms": self.options.vad_min_silence_ms,
        }

    def _has_speech(self, audio: Audio) -> bool:
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        return bool(get_speech_timestamps(audio.samples, VadOptions(**self._vad_parameters())))

    def _decode(self, samples: Any, lang: Lang, prompt: str | None, vad: bool = True) -> list[Segment]:
        opts = self.options
        extra: dict[str, Any] = {}
        if opts.chunk_length is not None:
            extra["chunk_length"] = opts.chunk_length
        raw, _info = self.model().transcribe(
            samples,
            language=lang,
            beam_size=opts.beam_size,
            temperature=0.0,
            without_timestamps=True,
            condition_on_previous_text=False,
            # A decoder loop is cut at the length real speech of this duration could have.
            max_new_tokens=min(opts.max_new_tokens, int(12 + opts.tokens_per_s * len(samples) / 16_000)),
            initial_prompt=prompt,
            hotwords=opts.hotwords_zh if lang == "zh" else None,
            vad_filter=vad,
            vad_parameters=self._vad_parameters(),
            **extra,
        )
        return [Segment(s.text, s.avg_logprob, s.no_speech_prob, s.compression_ratio) for s in raw]

    def _judge(self, text: str, segments: list[Segment], confidence: float) -> Unheard | None:
        opts = self.options
        if not segments:
            return Unheard.SILENCE
        if all(s.no_speech_prob > opts.max_no_speech_prob for s in segments):
            return Unheard.NO_SPEECH
        if not _norm(text):
            return Unheard.EMPTY
        if any(s.compression_ratio > opts.max_compression_ratio for s in segments) or _LOOP.search(_norm(text)):
            return Unheard.REPETITION
        if confidence < opts.min_confidence:
            return Unheard.LOW_CONFIDENCE
        return None

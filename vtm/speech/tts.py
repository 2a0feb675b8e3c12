"""Text-to-speech: espeak-ng voices (the engine behind pyttsx3) -> one WAV file per reply.

Mandarin is spoken by the ``cmn-latn-pinyin`` voice from tone-numbered pinyin (see
:mod:`vtm.speech.tts_text`), English by ``en-us``. The synthesiser runs in one worker process,
so a call never blocks an event loop (use :meth:`Synthesizer.asynthesize` there) and the
engine's global state is owned by one thread. The voice is checked to exist before use:
espeak-ng silently keeps speaking English when asked for a voice it does not have.

Usage::

    with Synthesizer() as tts:
        wav = tts.synthesize("您的卡已挂失。", "zh", Path("out/turn-3.wav"))
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from vtm.speech.errors import SynthesisError
from vtm.speech.tts_text import speech_text

__all__ = ["Speech", "Synthesizer", "TtsOptions"]


@dataclass(frozen=True)
class TtsOptions:
    """Voices and speaking rates (words per minute, espeak-ng's scale; 175 is its default)."""

    voices: dict[str, str] = field(default_factory=lambda: {"zh": "cmn-latn-pinyin", "en": "en-us"})
    rates: dict[str, int] = field(default_factory=lambda: {"zh": 150, "en": 165})
    elderly_factor: float = 0.8  # elderly mode speaks 20 % slower


@dataclass(frozen=True)
class Speech:
    """One synthesised reply."""

    path: Path
    text: str
    spoken: str  # what the engine was given (pinyin for zh)
    lang: str
    audio_s: float
    tts_s: float


class Synthesizer:
    """One espeak-ng worker process; synthesises replies to WAV files.

    ``voice_variant`` (e.g. ``"f2"``, ``"m3"``) picks one of espeak-ng's voice variants, which
    tests use to vary the speaker.
    """

    def __init__(self, options: TtsOptions | None = None) -> None:
        self.options = options or TtsOptions()
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._known: set[str] | None = None
        self._variants: set[str] | None = None

    def __enter__(self) -> Synthesizer:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker process (it also ends on its own when this process exits)."""
        with self._lock:
            if self._proc is not None:
                assert self._proc.stdin is not None
                self._proc.stdin.close()
                self._proc.wait(timeout=5)
                self._proc = None

    def _call(self, op: str, **args: Any) -> Any:
        """One request to the worker (``python -m vtm.speech._espeak_worker``), started on first use.

        A plain child process with a JSON-lines protocol, not ``multiprocessing``: spawn would
        re-import the caller's ``__main__``, which breaks scripts without a main guard.
        """
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "vtm.speech._espeak_worker"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    encoding="utf-8",
                    bufsize=1,
                )
            assert self._proc.stdin is not None
            assert self._proc.stdout is not None
            self._proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        if not line:
            raise SynthesisError("the espeak-ng worker process ended unexpectedly (see its stderr)")
        answer = json.loads(line)
        if not answer["ok"]:
            raise SynthesisError(f"{answer['kind']}: {answer['error']}")
        return answer["result"]

    def voices(self) -> set[str]:
        """Installed voice names, lower-case, without the family folder (``cmn-latn-pinyin``)."""
        if self._known is None:
            ids = self._call("voices")
            self._known = {i.rsplit("/", 1)[-1].lower() for i in ids}
        return self._known

    def check_voice(self, lang: str) -> str:
        """The voice for ``lang``; raises ``SynthesisError`` when it is not installed."""
        if lang not in self.options.voices:
            raise SynthesisError(f"no voice configured for language {lang!r}")
        name = self.options.voices[lang]
        if name.lower() not in self.voices():
            raise SynthesisError(f"espeak-ng voice {name!r} for {lang} is not installed (apt-get install espeak-ng)")
        return name

    def synthesize(
        self,
        text: str,
        lang: str,
        path: Path,
        *,
        rate: int | None = None,
        elderly: bool = False,
        voice_variant: str | None = None,
    ) -> Speech:
        """Speak ``text`` (zh or en) into the WAV file ``path``; one file per call."""
        if not text.strip():
            raise SynthesisError("nothing to say: the reply text is empty")
        voice = self.check_voice(lang)
        if voice_variant:
            if self._variants is None:
                self._variants = set(self._call("variants"))
            if voice_variant not in self._variants:
                # espeak-ng ignores an unknown variant silently; refuse it instead.
                raise SynthesisError(f"espeak-ng has no voice variant {voice_variant!r}")
            voice = f"{voice}+{voice_variant}"
        wpm = rate or self.options.rates[lang]
        if elderly:
            wpm = int(wpm * self.options.elderly_factor)
        spoken = speech_text(text, lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        _, samples, sample_rate = self._call("synth", text=spoken, voice=voice, rate=wpm, path=str(path.resolve()))
        return Speech(path, text, spoken, lang, samples / sample_rate, time.perf_counter() - started)

    async def asynthesize(self, text: str, lang: str, path: Path, **kwargs: object) -> Speech:
        """:meth:`synthesize` without blocking the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, lambda: self.synthesize(text, lang, path, **kwargs))  # type: ignore[arg-type]

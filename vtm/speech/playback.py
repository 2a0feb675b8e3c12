"""Playing replies through the sound device, with barge-in.

``sounddevice`` (PortAudio) is imported lazily: a kiosk without it, or without an output
device, gets :class:`PlaybackUnavailable` naming what is missing, never a silent no-op.

Barge-in: :meth:`Playback.barge_in` stops an interruptible reply at once; a non-interruptible
one (fraud warning, disclosure) ignores it and plays to the end. Either way the handle records
how much was played, so the session record can say "fully played" truthfully.

The kiosk must not hear itself: the voice loop stops feeding the turn detector while a reply
plays (:attr:`Playback.playing`) and feeds it again only after the reply ended or was cut.

Usage::

    player = open_player()                      # raises PlaybackUnavailable when there is no device
    handle = player.play(Path("reply.wav"), interruptible=reply.interruptible)
    ... on customer speech: handle.barge_in()
    outcome = handle.wait()                     # PlayOutcome(fully_played=..., played_s=...)
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import soundfile as sf

from vtm.speech.errors import PlaybackUnavailable

__all__ = ["DevicePlayer", "PlayOutcome", "Playback", "Player", "TimedPlayer", "open_player"]


@dataclass(frozen=True)
class PlayOutcome:
    fully_played: bool
    played_s: float
    total_s: float
    barged_in: bool  # the customer spoke over it (whether or not it stopped)


class Playback:
    """One reply being played. Thread-safe; ``stop`` is the sink's way to cut the audio."""

    def __init__(self, total_s: float, interruptible: bool, stop: Any = None) -> None:
        self.total_s = total_s
        self.interruptible = interruptible
        self._stop = stop
        self._started = time.monotonic()
        self._done = threading.Event()
        self._cut_at: float | None = None
        self._barged = False

    @property
    def playing(self) -> bool:
        return not self._done.is_set()

    def barge_in(self) -> bool:
        """The customer started speaking. Returns True if the reply was stopped."""
        self._barged = True
        if not self.interruptible or self._done.is_set():
            return False
        self._cut_at = time.monotonic() - self._started
        if self._stop is not None:
            self._stop()
        self._done.set()
        return True

    def finished(self) -> None:
        """Called by the sink when the audio ran to its end."""
        self._done.set()

    def wait(self, timeout: float | None = None) -> PlayOutcome:
        self._done.wait(timeout)
        played = self.total_s if self._cut_at is None else min(self._cut_at, self.total_s)
        return PlayOutcome(self._cut_at is None, played, self.total_s, self._barged)


class Player(Protocol):
    def play(self, path: Path, *, interruptible: bool = True) -> Playback: ...


class DevicePlayer:
    """Plays WAV files on the default output device through sounddevice."""

    def __init__(self, sd: Any) -> None:
        self._sd = sd

    def play(self, path: Path, *, interruptible: bool = True) -> Playback:
        data, rate = sf.read(str(path), dtype="float32")
        handle = Playback(len(data) / rate, interruptible, stop=self._sd.stop)
        self._sd.play(data, rate)

        def wait_end() -> None:
            self._sd.wait()
            handle.finished()

        threading.Thread(target=wait_end, daemon=True, name="vtm-playback").start()
        return handle


class TimedPlayer:
    """No device (simulator, tests): a reply 'plays' for its real duration, with the same barge-in rules."""

    def play(self, path: Path, *, interruptible: bool = True) -> Playback:
        info = sf.info(str(path))
        handle = Playback(info.frames / info.samplerate, interruptible)
        timer = threading.Timer(handle.total_s, handle.finished)
        timer.daemon = True
        timer.start()
        return handle


def open_player() -> DevicePlayer:
    """The sound-device player, or ``PlaybackUnavailable`` saying exactly what is missing."""
    try:
        import sounddevice as sd  # type: ignore[import-not-found,unused-ignore]  # optional, untyped
    except ImportError as exc:
        raise PlaybackUnavailable("the Python package sounddevice is not installed (pip install sounddevice)") from exc
    except OSError as exc:  # sounddevice raises OSError when libportaudio is absent
        raise PlaybackUnavailable(f"the PortAudio library is missing (apt-get install libportaudio2): {exc}") from exc
    try:
        device = sd.query_devices(kind="output")
    except sd.PortAudioError as exc:
        raise PlaybackUnavailable(f"no audio output device on this machine: {exc}") from exc
    if not device:
        raise PlaybackUnavailable("no audio output device on this machine")
    return DevicePlayer(sd)

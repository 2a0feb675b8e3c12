"""`vtm kiosk`: the live loop with a microphone and a speaker.

Microphone frames go to the end-of-turn detector (voice activity + Smart Turn, with the waits of
the session's listening mode); a finished utterance goes through the voice front end (ASR,
dialog, TTS) without a second end-of-turn pass; the replies play through the speaker, in order.
Warm the front end (:meth:`VoiceFrontEnd.warm_up`) before calling :func:`run_live`.

* The kiosk must not hear itself: while a reply plays, frames do not reach the detector.
* Barge-in (:class:`~vtm.speech.listen.BargeIn`): while an *interruptible* reply plays, sustained
  speech on the microphone (voice activity above a higher bar than normal, for ``barge_in_s``)
  stops it and the customer's turn begins with the words that interrupted it. A
  non-interruptible reply (fraud warning, disclosure) plays to the end; the session record
  shows it fully played. This assumes a kiosk microphone with echo cancellation (a
  beam-forming array or a handset); without one, raise ``barge_in_s`` or set it to 0 to disable.
* Without a microphone or a speaker, :func:`missing_audio_devices` says exactly what is missing
  and ``vtm kiosk`` stops with that message instead of running deaf or mute.

The microphone and the player are interfaces (:class:`Microphone`, ``vtm.speech.playback.Player``)
so a real driver, PortAudio, or a test's recorded stream can stand behind them.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from vtm.dialog.manager import DialogManager
from vtm.dialog.turn import TurnRecord
from vtm.kiosk.voice import VoiceFrontEnd, listen_mode
from vtm.speech.audio import SAMPLE_RATE
from vtm.speech.errors import PlaybackUnavailable
from vtm.speech.listen import BargeIn
from vtm.speech.playback import Playback, Player, open_player
from vtm.speech.vad import FRAME

__all__ = ["LiveOptions", "Microphone", "SoundDeviceMicrophone", "missing_audio_devices", "run_live"]

Samples = Any  # one float32 frame of FRAME samples at 16 kHz


class Microphone(Protocol):
    def frames(self) -> Iterator[Samples]:
        """16 kHz mono float32 frames of ``FRAME`` samples, until the microphone is closed."""
        ...


@dataclass(frozen=True)
class LiveOptions:
    barge_in_threshold: float = 0.8  # stricter than the detector's 0.5: the kiosk's own voice may leak
    barge_in_s: float = 0.3  # sustained customer speech that stops an interruptible reply; 0 disables


def missing_audio_devices() -> list[str]:
    """What this machine lacks for the live loop (empty when a microphone and a speaker are there)."""
    try:
        import sounddevice as sd  # type: ignore[import-not-found,unused-ignore]  # optional, untyped
    except ImportError:
        return ["the Python package sounddevice (pip install sounddevice)"]
    except OSError as exc:  # sounddevice raises OSError when libportaudio is absent
        return [f"the PortAudio library (apt-get install libportaudio2): {exc}"]
    missing = []
    try:
        if not sd.query_devices(kind="input"):
            missing.append("a microphone (no audio input device)")
    except sd.PortAudioError as exc:
        missing.append(f"a microphone (no audio input device: {exc})")
    try:
        open_player()
    except PlaybackUnavailable as exc:
        missing.append(f"a speaker ({exc})")
    return missing


class SoundDeviceMicrophone:
    """The default microphone through PortAudio (``sounddevice``), 16 kHz mono."""

    def __init__(self) -> None:
        import sounddevice as sd  # type: ignore[import-not-found,unused-ignore]

        self._queue: queue.Queue[Samples] = queue.Queue()
        self._stream = sd.InputStream(samplerate=SAMPLE_RATE, channels=1, dtype="float32", blocksize=FRAME,
                                      callback=lambda data, *_: self._queue.put(data[:, 0].copy()))

    def frames(self) -> Iterator[Samples]:
        with self._stream:
            while True:
                yield self._queue.get()


def _say_welcome(front: VoiceFrontEnd, dm: DialogManager, record: TurnRecord, player: Player) -> None:
    """Synthesise and play the replies of a turn that had no customer audio (the welcome)."""
    lang = "en" if dm.session.lang == "en" else "zh"
    for index, reply in enumerate(r for r in record.replies if r.text.strip()):
        speech = front.synthesizer.synthesize(reply.text, lang, front.out_dir / f"turn-{record.turn}-{index}.wav",
                                              elderly=dm.session.elderly)
        player.play(speech.path, interruptible=reply.interruptible).wait()


def run_live(dm: DialogManager, front: VoiceFrontEnd, microphone: Microphone, player: Player,
             options: LiveOptions | None = None, on_turn: Callable[[TurnRecord], None] | None = None) -> None:
    """Serve one customer session from the microphone until it ends or the microphone closes."""
    options = options or LiveOptions()
    on_turn = on_turn or (lambda _record: None)
    welcome = dm.start()
    on_turn(welcome)
    _say_welcome(front, dm, welcome, player)
    partials = front.partial_asr(dm)
    detector = front.detector(dm, partials)
    barge = BargeIn(options.barge_in_threshold, options.barge_in_s)
    pending: list[tuple[Any, bool]] = []  # (wav path, interruptible) still to play
    playing: Playback | None = None
    for frame in microphone.frames():
        frame = np.asarray(frame, dtype=np.float32)
        utterance = None
        if playing is not None and playing.playing:
            # Not listening while speaking (the kiosk must not hear itself), except for barge-in.
            if not (playing.interruptible and barge.push(frame) and playing.barge_in()):
                continue
            pending.clear()  # the customer is talking: the rest of this answer is not read out
            for held in barge.reset():  # their first words go to the detector, not lost
                utterance = detector.push(held) or utterance
        elif pending:
            path, interruptible = pending.pop(0)
            playing = player.play(path, interruptible=interruptible)
            barge.reset()
            continue
        elif dm.session.ended:
            return
        else:
            utterance = detector.push(frame)
        if utterance is None:
            continue
        turn = front.answer(utterance, dm, partials)
        on_turn(turn.record)
        detector.mode = listen_mode(dm)  # the next turn: elderly now, or a number asked for
        if partials is not None:
            partials.results.clear()
        spoken = [r for r in turn.record.replies if r.text.strip()]
        pending = [(speech.path, reply.interruptible) for speech, reply in zip(turn.replies, spoken, strict=False)]
    if playing is not None:
        playing.wait()

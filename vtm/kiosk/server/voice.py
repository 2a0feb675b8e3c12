"""Voice from the browser (``vtm serve --voice``): the page's microphone and the kiosk's voice.

The page sends its microphone as binary WebSocket frames of 16 kHz mono 16-bit little-endian
PCM. :class:`BrowserMicrophone` cuts them into the detector's frames and listens exactly as
``vtm kiosk`` does: the session front end's end-of-turn detector (voice activity + Smart Turn,
the waits of the listening mode: elderly, a number being dictated), ASR at the first pause while
the wait runs, and :meth:`~vtm.kiosk.voice.VoiceFrontEnd.answer` (ASR repair, the dialog, TTS),
so a turn spoken at the screen is recognised, recorded and timed like one at the live kiosk.
Replies of typed and touched turns are synthesised too, so the figure always speaks aloud.

The kiosk must not hear itself (the page asks for echo cancellation, but a kiosk speaker is
loud). The page says when it plays a reply (a ``speaker`` message) and sends nothing while a
reply that must be heard plays (a fraud warning, a disclosure) or while a turn is answered.
While an *interruptible* reply plays it keeps sending, and the frames go to
:class:`~vtm.speech.listen.BargeIn` only: sustained speech above a stricter bar stops the
reply (the service tells the page with ``barge_in``) and the words that interrupted it start
the customer's turn.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from vtm.config import Settings
from vtm.dialog.manager import DialogManager
from vtm.dialog.turn import Reply, TurnRecord
from vtm.kiosk.voice import VoiceFrontEnd, domain_repairer, listen_mode
from vtm.speech.asr import Recognizer
from vtm.speech.audio import SAMPLE_RATE
from vtm.speech.errors import SynthesisError
from vtm.speech.homophones import HomophoneRepairer
from vtm.speech.listen import BargeIn, Utterance
from vtm.speech.smart_turn import SmartTurn, TurnCompletion
from vtm.speech.smart_turn_files import smart_turn_dir
from vtm.speech.tts import Synthesizer
from vtm.speech.vad import FRAME
from vtm.speech.whisper_files import whisper_dir

__all__ = ["AUDIO_NAME", "BrowserMicrophone", "Heard", "VoiceKit", "speak_replies"]

_log = logging.getLogger(__name__)
AUDIO_NAME: Final = re.compile(r"turn-[0-9]{1,5}-[0-9]{1,3}\.wav")
"""The reply files the service serves (anything else in a session's audio folder is not)."""
MAX_CHUNK_BYTES: Final = 64 * 1024  # 2 s of audio per frame at most; the page sends ~0.25 s


@dataclass(frozen=True)
class VoiceKit:
    """The recogniser, synthesiser, end-of-turn model and ASR repair every kiosk of the process
    shares (one model copy each)."""

    recognizer: Recognizer
    synthesizer: Synthesizer
    repairer: HomophoneRepairer | None = None  # vtm.kiosk.voice.domain_repairer(content root)
    completion: TurnCompletion | None = None  # Smart Turn; None: the turn ends on silence alone

    @classmethod
    def for_settings(cls, settings: Settings) -> VoiceKit:
        """The prepared models of ``settings`` (Whisper, Smart Turn), espeak-ng and the domain repair:
        the same parts as ``vtm kiosk`` (:meth:`VoiceFrontEnd.for_settings`)."""
        return cls(Recognizer(whisper_dir(settings.models_path)), Synthesizer(), domain_repairer(settings.content_root),
                   SmartTurn(smart_turn_dir(settings.models_path)))

    def front_end(self, out_dir: Path) -> VoiceFrontEnd:
        return VoiceFrontEnd(self.recognizer, self.synthesizer, out_dir, completion=self.completion,
                             repairer=self.repairer)

    def warm_up(self) -> None:
        """Load every model before the first customer speaks."""
        self.recognizer.model()
        if self.repairer is not None:
            self.repairer.warm_up()  # the ASR repair's dictionary
        if self.completion is not None:
            self.completion.probability(np.zeros(SAMPLE_RATE, dtype=np.float32))

    def close(self) -> None:
        self.synthesizer.close()


@dataclass(frozen=True)
class Heard:
    """What one chunk of the page's microphone brought."""

    barged_in: bool = False  # the customer spoke over an interruptible reply: the page stops it
    utterances: tuple[Utterance, ...] = ()  # turns it completed (usually none, at most one)


class BrowserMicrophone:
    """The page's microphone for one customer session (see the module docstring)."""

    def __init__(self, front: VoiceFrontEnd, dm: DialogManager, barge: BargeIn | None = None) -> None:
        self.partials = front.partial_asr(dm)
        self.detector = front.detector(dm, self.partials)
        self.barge = barge or BargeIn()
        self.playing = False  # the page is playing a reply
        self.interruptible = True  # ... that the customer may interrupt
        self._rest = np.zeros(0, dtype=np.float32)

    def speaker(self, playing: bool, interruptible: bool) -> None:
        """The page started or stopped playing a reply."""
        self.playing, self.interruptible = playing, interruptible
        self.barge.reset()

    def feed(self, pcm16: bytes, dm: DialogManager) -> Heard:
        """Push one chunk; raises ``ValueError`` for a chunk that is not PCM16."""
        if len(pcm16) % 2:
            raise ValueError("PCM16 chunks have an even number of bytes")
        self.detector.mode = listen_mode(dm)  # elderly mode may be switched on mid-session
        samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float32) / 32768.0
        buffered = np.concatenate([self._rest, samples])
        whole = len(buffered) // FRAME * FRAME
        self._rest = buffered[whole:]
        barged, done = False, []
        for frame in buffered[:whole].reshape(-1, FRAME):
            if self.playing:
                if not self.interruptible or not self.barge.push(frame):
                    continue  # the kiosk is speaking: only the customer talking over it counts
                barged, self.playing = True, False
                frames = self.barge.reset()  # the words that interrupted it begin the turn
            else:
                frames = [frame]
            done += [u for f in frames if (u := self.detector.push(f)) is not None]
        return Heard(barged, tuple(done))

    def answer(self, front: VoiceFrontEnd, utterance: Utterance, dm: DialogManager) -> TurnRecord:
        """The dialog turn of an utterance this microphone completed (ASR already started at its pause)."""
        record = front.answer(utterance, dm, self.partials).record
        if self.partials is not None:
            self.partials.results.clear()
        self.detector.mode = listen_mode(dm)  # the next turn: a number asked for, or elderly now
        return record


def speak_replies(front: VoiceFrontEnd, dm: DialogManager, turn: int, replies: list[Reply]) -> list[str | None]:
    """Synthesise the replies of a typed or touched turn; the file name per reply (None: not spoken).

    A reply that cannot be synthesised is still on screen; the failure is logged, never hidden.
    """
    lang = "en" if dm.session.lang == "en" else "zh"
    names: list[str | None] = []
    for index, reply in enumerate(replies):
        if not reply.text.strip():
            names.append(None)
            continue
        path = front.out_dir / f"turn-{turn}-{index}.wav"
        try:
            front.synthesizer.synthesize(reply.text, lang, path, elderly=dm.session.elderly)
        except SynthesisError as exc:
            _log.error("reply_not_spoken session=%s turn=%d key=%s error=%s", dm.session.session_id, turn,
                       reply.key, exc)
            names.append(None)
            continue
        names.append(path.name)
    return names

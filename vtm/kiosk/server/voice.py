"""Voice from the browser (``vtm serve --voice``): the page's microphone and the kiosk's voice.

The page sends its microphone as binary WebSocket frames of 16 kHz mono 16-bit little-endian
PCM. :class:`BrowserMicrophone` cuts them into the detector's frames and feeds the same
end-of-turn detector as ``vtm kiosk``; a finished utterance goes through the same
:class:`~vtm.kiosk.voice.VoiceFrontEnd` (ASR in the session's language, the dialog, TTS), so a
turn spoken at the screen is recognised, recorded and timed exactly like one at the live kiosk.
Replies of typed and touched turns are synthesised too, so the figure always speaks aloud.

The page stops sending while the kiosk speaks and while a turn is being answered: the kiosk
must not hear itself (no echo cancellation is assumed).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from vtm.dialog.manager import DialogManager
from vtm.dialog.turn import Reply
from vtm.kiosk.voice import VoiceFrontEnd
from vtm.speech.asr import Recognizer
from vtm.speech.errors import SynthesisError
from vtm.speech.homophones import HomophoneRepairer
from vtm.speech.listen import TurnDetector, Utterance
from vtm.speech.tts import Synthesizer
from vtm.speech.vad import FRAME

__all__ = ["AUDIO_NAME", "BrowserMicrophone", "VoiceKit", "speak_replies"]

_log = logging.getLogger(__name__)
AUDIO_NAME: Final = re.compile(r"turn-[0-9]{1,5}-[0-9]{1,3}\.wav")
"""The reply files the service serves (anything else in a session's audio folder is not)."""
MAX_CHUNK_BYTES: Final = 64 * 1024  # 2 s of audio per frame at most; the page sends ~0.25 s


@dataclass(frozen=True)
class VoiceKit:
    """The recogniser, synthesiser and ASR repair every kiosk of the process shares (one model copy each)."""

    recognizer: Recognizer
    synthesizer: Synthesizer
    repairer: HomophoneRepairer | None = None  # vtm.kiosk.voice.domain_repairer(content root)

    def front_end(self, out_dir: Path) -> VoiceFrontEnd:
        return VoiceFrontEnd(self.recognizer, self.synthesizer, out_dir, repairer=self.repairer)

    def close(self) -> None:
        self.synthesizer.close()


class BrowserMicrophone:
    """PCM chunks from the page -> end-of-turn detector -> utterances (one per customer session)."""

    def __init__(self, elderly: bool) -> None:
        self.detector = TurnDetector(elderly=elderly)
        self._rest = np.zeros(0, dtype=np.float32)

    def feed(self, pcm16: bytes, elderly: bool) -> list[Utterance]:
        """Push one chunk; returns the utterances it completed (usually none, at most one)."""
        if len(pcm16) % 2:
            raise ValueError("PCM16 chunks have an even number of bytes")
        self.detector.elderly = elderly  # the customer may have switched elderly mode mid-session
        samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float32) / 32768.0
        buffered = np.concatenate([self._rest, samples])
        whole = len(buffered) // FRAME * FRAME
        self._rest = buffered[whole:]
        done = []
        for frame in buffered[:whole].reshape(-1, FRAME):
            utterance = self.detector.push(frame)
            if utterance is not None:
                done.append(utterance)
        return done


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

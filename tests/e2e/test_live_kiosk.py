"""The live loop (`vtm kiosk`): what happens without sound devices, and one turn through a microphone.

The machines this suite runs on have no microphone or speaker, so the loop is driven through its
interfaces: a microphone that delivers a recorded stream frame by frame (as PortAudio would) and
the timed player (a reply "plays" for its real duration). Recognition, dialog and synthesis are real.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vtm.cli import app
from vtm.config import load_settings
from vtm.dialog.manager import DialogManager
from vtm.dialog.turn import TurnRecord
from vtm.kiosk.live import LiveOptions, missing_audio_devices, run_live
from vtm.kiosk.script import Script, Turn
from vtm.kiosk.testing import DEFAULT_TODAY, ConversationRunner
from vtm.kiosk.voice import VoiceFrontEnd
from vtm.speech.asr import AsrOptions, Recognizer
from vtm.speech.audio import SAMPLE_RATE, load_audio
from vtm.speech.listen import frames_of
from vtm.speech.playback import TimedPlayer
from vtm.speech.tts import Synthesizer
from vtm.speech.whisper_files import whisper_dir


def test_without_sound_devices_the_kiosk_says_what_is_missing_and_stops() -> None:
    missing = missing_audio_devices()
    if not missing:
        pytest.skip("this machine has a microphone and a speaker; the live loop below still runs")
    result = CliRunner().invoke(app, ["kiosk"])
    assert result.exit_code == 2
    for item in missing:
        assert item in result.output
    assert "vtm sim" in result.output


class _RecordedMicrophone:
    """A microphone that plays back a recording, then the room's silence, then closes."""

    def __init__(self, samples: np.ndarray, silence_s: float) -> None:
        tail = np.zeros(int(silence_s * SAMPLE_RATE), dtype=np.float32)
        self._audio = load_audio_from(np.concatenate([samples, tail]))

    def frames(self) -> Iterator[np.ndarray]:
        yield from frames_of(self._audio)


def load_audio_from(samples: np.ndarray):  # type: ignore[no-untyped-def]
    from vtm.speech.audio import Audio

    return Audio(samples.astype(np.float32))


@pytest.mark.slow
def test_a_spoken_request_through_the_microphone_is_answered(tmp_path: Path) -> None:
    settings = load_settings().model_copy(update={"data_dir": tmp_path / "data"})
    runner = ConversationRunner(settings)
    try:
        services, _clock = runner.services_for(Script(lang="en", turns=[Turn(device="take_card")]), tmp_path / "bank")
        with Synthesizer() as tts:
            said = tts.synthesize("how much money do I have in my account", "en", tmp_path / "customer.wav")
            room = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
            microphone = _RecordedMicrophone(np.concatenate([room, load_audio(said.path).samples]), silence_s=3.0)
            front = VoiceFrontEnd(Recognizer(whisper_dir(settings.models_path), AsrOptions(cpu_threads=1)), tts,
                                  tmp_path / "audio")
            dm = DialogManager(services, services.new_session("en"), today=DEFAULT_TODAY)
            turns: list[TurnRecord] = []
            run_live(dm, front, microphone, TimedPlayer(), LiveOptions(), on_turn=turns.append)
    finally:
        runner.close()
    assert turns[0].replies[0].key == "session.welcome"  # spoken before the microphone was listened to
    heard = [t for t in turns if t.user is not None]
    assert len(heard) == 1
    assert heard[0].intent == "check_balance", heard[0].user
    assert "money" in heard[0].user.lower()
    assert heard[0].replies, "the kiosk answered"
    assert heard[0].latency_ms["voice_to_voice"] > 0
    assert list((tmp_path / "audio").glob("turn-*.wav")), "the replies were synthesised to audio"

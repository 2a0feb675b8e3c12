from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from vtm.speech.audio import SAMPLE_RATE, write_wav
from vtm.speech.errors import PlaybackUnavailable
from vtm.speech.latency import TurnClock, percentile
from vtm.speech.playback import DevicePlayer, TimedPlayer, open_player


def _wav(tmp_path: Path, seconds: float) -> Path:
    return write_wav(tmp_path / "reply.wav", np.zeros(int(SAMPLE_RATE * seconds), dtype=np.float32))


def test_customer_speech_stops_an_interruptible_reply(tmp_path: Path) -> None:
    handle = TimedPlayer().play(_wav(tmp_path, 2.0), interruptible=True)
    time.sleep(0.2)
    assert handle.barge_in() is True
    outcome = handle.wait(1)
    assert not outcome.fully_played
    assert outcome.barged_in
    assert 0.1 < outcome.played_s < 1.0


def test_non_interruptible_reply_plays_to_the_end_and_is_recorded_as_fully_played(tmp_path: Path) -> None:
    handle = TimedPlayer().play(_wav(tmp_path, 0.5), interruptible=False)
    time.sleep(0.1)
    assert handle.barge_in() is False
    assert handle.playing
    outcome = handle.wait(2)
    assert outcome.fully_played
    assert outcome.barged_in
    assert outcome.played_s == pytest.approx(0.5, abs=0.01)


def test_player_without_sound_device_says_what_is_missing() -> None:
    message = ""
    try:
        player = open_player()
    except PlaybackUnavailable as exc:
        message = str(exc)
    else:
        assert isinstance(player, DevicePlayer)
        return
    assert any(word in message for word in ("sounddevice", "PortAudio", "device"))


def test_turn_clock_records_stages_and_voice_to_voice() -> None:
    clock = TurnClock(speech_end=time.monotonic())
    with clock.stage("asr"):
        time.sleep(0.02)
    clock.add("nlu", 0.005)
    clock.reply_ready()
    ms = clock.as_ms()
    assert ms["asr"] >= 20
    assert ms["nlu"] == 5
    assert ms["voice_to_voice"] >= ms["asr"]


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)

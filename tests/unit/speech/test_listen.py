from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vtm.speech.audio import SAMPLE_RATE, Audio, load_audio, write_wav
from vtm.speech.listen import ListenOptions, TurnDetector, TurnEnd, ends_mid_number, frames_of, listen_file
from vtm.speech.tts import Synthesizer


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


def _say(synth: Synthesizer, tmp_path: Path, text: str) -> np.ndarray:
    path = tmp_path / f"{abs(hash(text))}.wav"
    synth.synthesize(text, "en", path)
    return load_audio(path).samples


def _stream(tmp_path: Path, *parts: np.ndarray) -> Path:
    return write_wav(tmp_path / "stream.wav", np.concatenate(parts))


def test_two_sentences_apart_are_two_turns(synth: Synthesizer, tmp_path: Path) -> None:
    a, b = _say(synth, tmp_path, "I lost my card"), _say(synth, tmp_path, "yes please")
    turns = listen_file(_stream(tmp_path, _silence(0.5), a, _silence(2.0), b, _silence(1.0)))
    assert [t.reason for t in turns] == [TurnEnd.SILENCE, TurnEnd.SILENCE]
    assert turns[0].speech_end_s < turns[1].start_s
    # the decision comes one trailing-silence after the end of speech
    assert turns[0].decided_s - turns[0].speech_end_s == pytest.approx(0.6, abs=0.07)


def test_pause_inside_a_card_number_does_not_end_the_turn(synth: Synthesizer, tmp_path: Path) -> None:
    first, rest = (
        _say(synth, tmp_path, "my card number is six two two two"),
        _say(synth, tmp_path, "three four"),
    )
    path = _stream(tmp_path, _silence(0.4), first, _silence(0.9), rest, _silence(2.5))
    assert len(listen_file(path)) == 2  # without a partial transcript the pause ends the turn

    heard: list[float] = []

    def partial(audio: Audio) -> str:  # stands in for the recogniser on the audio so far
        heard.append(audio.duration_s)
        return "my card number is 6222" if len(heard) == 1 else "my card number is 6222 34 and that is all"

    turns = listen_file(path, partial=partial)
    assert len(turns) == 1
    assert turns[0].audio.duration_s > first.size / SAMPLE_RATE + rest.size / SAMPLE_RATE
    assert turns[0].partial == "my card number is 6222 34 and that is all"


def test_elderly_mode_waits_longer_before_ending_the_turn(synth: Synthesizer, tmp_path: Path) -> None:
    a, b = _say(synth, tmp_path, "I would like"), _say(synth, tmp_path, "to report a lost card")
    path = _stream(tmp_path, _silence(0.3), a, _silence(0.5), b, _silence(2.0))
    assert len(listen_file(path)) == 2
    assert len(listen_file(path, elderly=True)) == 1


def test_turn_is_cut_at_the_maximum_utterance_length(synth: Synthesizer, tmp_path: Path) -> None:
    speech = _say(synth, tmp_path, "this customer keeps talking without any pause at all for a long time")
    turns = listen_file(_stream(tmp_path, speech, speech, speech), ListenOptions(max_utterance_s=3.0))
    assert turns[0].reason is TurnEnd.MAX_LENGTH
    assert turns[0].audio.duration_s == pytest.approx(3.0, abs=0.05)


def test_silence_and_steady_noise_make_no_turn(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 0.02, SAMPLE_RATE * 3).astype(np.float32)
    assert listen_file(_stream(tmp_path, _silence(3.0), noise, _silence(1.0))) == []


def test_open_speech_is_closed_when_the_stream_ends(synth: Synthesizer, tmp_path: Path) -> None:
    detector = TurnDetector()
    audio = Audio(_say(synth, tmp_path, "hello there"))
    assert all(detector.push(f) is None for f in frames_of(audio)[:-3])
    turn = detector.flush()
    assert turn is not None
    assert turn.reason is TurnEnd.END_OF_STREAM


@pytest.mark.parametrize(
    ("text", "mid"),
    [
        ("我的卡号是六二二二", True),
        ("转账五百", True),
        ("card number 6222", True),
        ("six two two two,", True),
        ("two hundred and", True),
        ("我的银行卡丢了", False),
        ("I lost my card.", False),
    ],
)
def test_partial_transcript_ending_in_a_number_is_mid_number(text: str, mid: bool) -> None:
    assert ends_mid_number(text) is mid

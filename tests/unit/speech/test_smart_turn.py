"""End of turn beyond silence: Smart Turn on real synthesised speech, and the waits per listening mode.

Properties are asserted with margin (complete well above, trailing-off well below the threshold),
never exact probabilities: the model's arithmetic may differ a little between x86-64 CPUs.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from vtm.config import load_settings
from vtm.speech.audio import SAMPLE_RATE, load_audio, write_wav
from vtm.speech.errors import ModelUnavailable
from vtm.speech.listen import ListenMode, ListenOptions, TurnEnd, TurnWaits, listen_file
from vtm.speech.smart_turn import SmartTurn
from vtm.speech.smart_turn_files import SmartTurnPreparationError, prepare_smart_turn, smart_turn_dir
from vtm.speech.tts import Synthesizer


@pytest.fixture(scope="module")
def smart_turn() -> SmartTurn:
    model = SmartTurn(smart_turn_dir(load_settings().models_path))
    model.warm_up()
    return model


def _speech(synth: Synthesizer, tmp_path: Path, text: str, lang: str) -> np.ndarray:
    path = tmp_path / f"{abs(hash(text))}.wav"
    synth.synthesize(text, lang, path)
    return load_audio(path).samples


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


@pytest.mark.parametrize(("lang", "done", "trailing_off"), [
    ("zh", "我的银行卡丢了", "转给张三，呃"),
    ("en", "What is my balance", "Transfer to, uh"),
])
def test_a_finished_sentence_scores_complete_and_a_trailing_filler_does_not(
    smart_turn: SmartTurn, synth: Synthesizer, tmp_path: Path, lang: str, done: str, trailing_off: str
) -> None:
    lead, tail = _silence(0.5), _silence(0.2)
    finished = smart_turn.probability(np.concatenate([lead, _speech(synth, tmp_path, done, lang), tail]))
    hanging = smart_turn.probability(np.concatenate([lead, _speech(synth, tmp_path, trailing_off, lang), tail]))
    assert finished > 0.7 > 0.3 > hanging, (finished, hanging)


def test_a_mid_sentence_pause_after_a_filler_does_not_end_the_turn(
    smart_turn: SmartTurn, synth: Synthesizer, tmp_path: Path
) -> None:
    first, rest = _speech(synth, tmp_path, "Transfer to, uh", "en"), _speech(synth, tmp_path, "five hundred yuan", "en")
    path = write_wav(tmp_path / "paused.wav",
                     np.concatenate([_silence(0.4), first, _silence(0.8), rest, _silence(2.5)]))
    assert len(listen_file(path)) == 2, "silence alone (0.6 s) cuts this customer off"
    turns = listen_file(path, completion=smart_turn)
    assert len(turns) == 1
    assert turns[0].audio.duration_s > (first.size + rest.size) / SAMPLE_RATE


def test_a_complete_sentence_ends_the_turn_after_a_short_silence(
    smart_turn: SmartTurn, synth: Synthesizer, tmp_path: Path
) -> None:
    said = _speech(synth, tmp_path, "What is my balance", "en")
    path = write_wav(tmp_path / "done.wav", np.concatenate([_silence(0.4), said, _silence(2.5)]))
    (turn,) = listen_file(path, completion=smart_turn)
    assert turn.reason is TurnEnd.COMPLETE
    # about 200 ms of silence (frames are 32 ms), well under the 600 ms of silence alone
    assert turn.decided_s - turn.speech_end_s < 0.4
    assert turn.completion is not None
    assert turn.completion >= ListenOptions().complete_threshold


def test_elderly_customers_and_digit_dictation_wait_longer() -> None:
    options = ListenOptions()
    plain = options.waits_for(ListenMode())
    for mode in (ListenMode(elderly=True), ListenMode(digits=True), ListenMode(elderly=True, digits=True)):
        waits = options.waits_for(mode)
        assert waits.complete_s > plain.complete_s
        assert waits.incomplete_s > plain.incomplete_s
        assert waits.silence_only_s > plain.silence_only_s
    both = ListenOptions(elderly_waits=TurnWaits(0.4, 3.0, 1.0), digits_waits=TurnWaits(0.9, 2.0, 1.5))
    assert both.waits_for(ListenMode(elderly=True, digits=True)) == TurnWaits(0.9, 3.0, 1.5)


def test_a_missing_model_is_reported_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="vtm models prepare"):
        SmartTurn(tmp_path).probability(_silence(1.0))


def test_preparation_refuses_a_wheel_that_is_not_the_pinned_one(tmp_path: Path) -> None:
    wheel = tmp_path / "pipecat_ai-1.14.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx", b"not the model")
    with pytest.raises(SmartTurnPreparationError, match="SHA-256"):
        prepare_smart_turn(tmp_path / "models", wheel=wheel)
    assert not (smart_turn_dir(tmp_path / "models") / "smart-turn-v3.2-cpu.onnx").exists()


def test_the_prepared_model_carries_its_licence_and_provenance() -> None:
    folder = smart_turn_dir(load_settings().models_path)
    assert "BSD 2-Clause" in (folder / "LICENSE").read_text()
    assert "pipecat-ai==" in (folder / "SOURCE.json").read_text()

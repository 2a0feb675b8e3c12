"""Inputs that must get a clear outcome from real ASR: never a crash, a hang or phantom text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vtm.speech.asr import AsrOptions, Recognizer, Unheard
from vtm.speech.audio import SAMPLE_RATE, Audio, load_audio
from vtm.speech.errors import AudioTooLong, CorruptAudio, EmptyAudio
from vtm.speech.tts import Synthesizer

pytestmark = pytest.mark.slow

VTM = str(Path(sys.executable).with_name("vtm"))
MODELS = Path(os.environ.get("VTM_MODELS_DIR", Path.home() / ".local/share/vtm/models"))


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    model = MODELS / "whisper-base"
    if not (model / "model.bin").is_file():
        pytest.fail(f"Whisper model not prepared at {model}: run `vtm models prepare`")
    return Recognizer(model, AsrOptions(cpu_threads=1))


@pytest.fixture(scope="module")
def english_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("speech") / "card.wav"
    with Synthesizer() as tts:
        tts.synthesize("I lost my bank card yesterday.", "en", path)
    return path


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_silence_is_heard_as_nothing(recognizer: Recognizer, lang: str) -> None:
    result = recognizer.transcribe(Audio(np.zeros(SAMPLE_RATE * 4, dtype=np.float32)), lang)  # type: ignore[arg-type]
    assert not result.usable
    assert result.unheard is Unheard.SILENCE
    assert result.text == ""


@pytest.mark.parametrize(("level", "lang"), [(0.01, "zh"), (0.1, "zh"), (0.3, "en"), (0.05, "en")])
def test_white_noise_produces_no_phantom_text(recognizer: Recognizer, level: float, lang: str) -> None:
    noise = np.random.default_rng(3).normal(0, level, SAMPLE_RATE * 5).astype(np.float32)
    result = recognizer.transcribe(Audio(np.clip(noise, -1, 1)), lang)  # type: ignore[arg-type]
    assert not result.usable, result
    assert result.text == ""


def test_clipped_speech_is_flagged_and_still_gets_a_clear_outcome(recognizer: Recognizer, english_wav: Path) -> None:
    audio = load_audio(english_wav)
    clipped = Audio.from_array(np.clip(audio.samples * 20, -1.0, 1.0))
    result = recognizer.transcribe(clipped, "en")
    assert result.clipped
    assert (result.usable and "card" in result.text.lower()) or (not result.usable and result.text == "")


@pytest.mark.parametrize("rate", [8_000, 48_000])
def test_telephone_and_studio_rates_are_recognised(
    recognizer: Recognizer, english_wav: Path, tmp_path: Path, rate: int
) -> None:
    from scipy.signal import resample_poly  # type: ignore[import-untyped]

    audio = load_audio(english_wav)
    converted = tmp_path / f"card-{rate}.wav"
    sf.write(str(converted), resample_poly(audio.samples, rate, SAMPLE_RATE), rate)
    result = recognizer.transcribe(converted, "en")
    assert result.usable, result
    assert "card" in result.text.lower()


def test_zero_byte_and_corrupt_files_are_refused(recognizer: Recognizer, tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(os.urandom(4096))
    with pytest.raises(EmptyAudio):
        recognizer.transcribe(empty, "zh")
    with pytest.raises(CorruptAudio):
        recognizer.transcribe(corrupt, "zh")


def test_ten_minute_recording_is_refused_without_decoding_it(recognizer: Recognizer, tmp_path: Path) -> None:
    path = tmp_path / "ten-minutes.flac"
    rng = np.random.default_rng(5)
    sf.write(str(path), rng.normal(0, 0.05, SAMPLE_RATE * 600).astype(np.float32), SAMPLE_RATE)
    started = time.perf_counter()
    with pytest.raises(AudioTooLong):
        recognizer.transcribe(path, "zh")
    assert time.perf_counter() - started < 2.0
    with pytest.raises(AudioTooLong):  # already-decoded audio is bounded too
        recognizer.transcribe(Audio(np.zeros(SAMPLE_RATE * 600, dtype=np.float32)), "zh")


def test_cli_prints_the_contract_json(english_wav: Path, tmp_path: Path) -> None:
    env = {**os.environ, "VTM_DATA_DIR": str(tmp_path), "VTM_MODELS_DIR": str(MODELS)}
    run = subprocess.run(
        [VTM, "asr", str(english_wav), "--json", "--lang", "en", "--threads", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert {"text", "lang", "confidence", "audio_s", "asr_s"} <= out.keys()
    assert out["lang"] == "en"
    assert "card" in out["text"].lower()

    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    run = subprocess.run(
        [VTM, "asr", str(empty), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert run.returncode == 1
    assert json.loads(run.stdout)["error"] == "EmptyAudio"

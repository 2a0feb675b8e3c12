from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vtm.speech.audio import SAMPLE_RATE, Audio, load_audio, write_wav
from vtm.speech.errors import AudioTooLong, CorruptAudio, EmptyAudio


def _tone(rate: int, seconds: float, amplitude: float = 0.3, channels: int = 1) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    wave = (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


@pytest.mark.parametrize("rate", [8_000, 22_050, 44_100, 48_000])
def test_any_sample_rate_is_resampled_to_16k_with_its_duration_kept(tmp_path: Path, rate: int) -> None:
    path = tmp_path / f"tone{rate}.wav"
    sf.write(str(path), _tone(rate, 1.5), rate)
    audio = load_audio(path)
    assert audio.source_rate == rate
    assert audio.duration_s == pytest.approx(1.5, abs=0.01)
    assert audio.samples.dtype == np.float32


def test_stereo_is_mixed_to_mono(tmp_path: Path) -> None:
    path = tmp_path / "stereo.flac"
    sf.write(str(path), _tone(44_100, 1.0, channels=2), 44_100)
    audio = load_audio(path)
    assert audio.source_channels == 2
    assert audio.samples.ndim == 1


def test_mp3_is_decoded_through_ffmpeg(tmp_path: Path) -> None:
    import av

    path = tmp_path / "tone.mp3"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mp3", rate=44_100)
        stream.layout = "mono"
        pcm = (_tone(44_100, 2.0) * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = 44_100
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    assert load_audio(path).duration_s == pytest.approx(2.0, abs=0.1)


def test_zero_byte_file_is_refused_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(EmptyAudio, match="0 bytes"):
        load_audio(path)


def test_wav_header_without_samples_is_refused_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "header-only.wav"
    sf.write(str(path), np.zeros(0, dtype=np.float32), SAMPLE_RATE)
    with pytest.raises(EmptyAudio):
        load_audio(path)


def test_corrupt_file_is_refused_as_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.wav"
    path.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage" * 20)
    with pytest.raises(CorruptAudio):
        load_audio(path)


def test_text_file_named_wav_is_refused_as_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio at all\n" * 50)
    with pytest.raises(CorruptAudio):
        load_audio(path)


def test_ten_minute_file_is_refused_quickly_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "ten-minutes.wav"
    sf.write(str(path), np.zeros(SAMPLE_RATE * 600, dtype=np.float32), SAMPLE_RATE, subtype="PCM_16")
    started = time.perf_counter()
    with pytest.raises(AudioTooLong) as info:
        load_audio(path, max_seconds=30)
    assert time.perf_counter() - started < 1.0
    assert info.value.duration_s == pytest.approx(600)
    assert "600.0 s" in str(info.value)


def test_clipped_recording_is_flagged_and_clean_one_is_not(tmp_path: Path) -> None:
    loud = np.clip(_tone(SAMPLE_RATE, 1.0, amplitude=3.0), -1.0, 1.0)
    assert Audio.from_array(loud).clipped
    assert not Audio.from_array(_tone(SAMPLE_RATE, 1.0)).clipped
    path = write_wav(tmp_path / "loud.wav", loud)
    assert load_audio(path).clipped


def test_bytes_and_pcm16_inputs_are_accepted(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "t.wav", _tone(SAMPLE_RATE, 0.5))
    assert load_audio(path.read_bytes()).duration_s == pytest.approx(0.5, abs=0.01)
    pcm = (_tone(8_000, 1.0) * 32767).astype("<i2").tobytes()
    assert Audio.from_pcm16(pcm, rate=8_000).duration_s == pytest.approx(1.0, abs=0.01)

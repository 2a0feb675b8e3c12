from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import soundfile as sf

from vtm.speech.errors import SynthesisError
from vtm.speech.tts import Synthesizer, TtsOptions


def test_each_reply_is_written_to_its_own_file(synth: Synthesizer, tmp_path: Path) -> None:
    # Regression: pyttsx3's runAndWait lost the first of these files (text with a full-width comma).
    texts = ["我的银行卡丢了，我要挂失。", "好的。", "请问您要转账多少钱？"]
    durations = []
    for i, text in enumerate(texts):
        speech = synth.synthesize(text, "zh", tmp_path / f"reply-{i}.wav")
        info = sf.info(str(speech.path))
        assert info.frames > 0
        durations.append(info.frames / info.samplerate)
        assert speech.audio_s == pytest.approx(durations[-1], abs=0.01)
    assert durations[0] > durations[1] * 2  # the long sentence really is in the first file


def test_english_and_mandarin_use_different_voices(synth: Synthesizer, tmp_path: Path) -> None:
    zh = synth.synthesize("银行", "zh", tmp_path / "zh.wav")
    en = synth.synthesize("bank", "en", tmp_path / "en.wav")
    assert zh.spoken == "yin2 hang2"
    assert en.spoken == "bank"


def test_elderly_mode_speaks_slower(synth: Synthesizer, tmp_path: Path) -> None:
    text = "Please insert your card and enter your PIN."
    normal = synth.synthesize(text, "en", tmp_path / "normal.wav")
    slow = synth.synthesize(text, "en", tmp_path / "slow.wav", elderly=True)
    assert slow.audio_s > normal.audio_s * 1.15


def test_missing_voice_is_an_error_not_a_silent_english_fallback(tmp_path: Path) -> None:
    options = TtsOptions(voices={"zh": "cmn-does-not-exist", "en": "en-us"})
    with Synthesizer(options) as tts, pytest.raises(SynthesisError, match="not installed"):
        tts.synthesize("你好", "zh", tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()


def test_unknown_voice_variant_is_refused(synth: Synthesizer, tmp_path: Path) -> None:
    with pytest.raises(SynthesisError, match="variant"):
        synth.synthesize("hello", "en", tmp_path / "x.wav", voice_variant="no-such-variant")


def test_empty_text_is_refused(synth: Synthesizer, tmp_path: Path) -> None:
    with pytest.raises(SynthesisError, match="empty"):
        synth.synthesize("  ", "en", tmp_path / "x.wav")


def test_async_synthesis_does_not_block_the_event_loop(synth: Synthesizer, tmp_path: Path) -> None:
    async def run() -> tuple[float, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        task = asyncio.create_task(ticker())
        started = time.perf_counter()
        speeches = [await synth.asynthesize(f"Reply number {i}.", "en", tmp_path / f"a{i}.wav") for i in range(5)]
        task.cancel()
        assert all(s.path.is_file() for s in speeches)
        return time.perf_counter() - started, ticks

    _, ticks = asyncio.run(run())
    assert ticks > 0

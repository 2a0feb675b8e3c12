"""Voice conversations end to end: synthesised customer speech -> real Whisper -> dialog -> sandbox bank.

The customer's turns are spoken by the project's own synthesiser (espeak-ng, several voices and
speeds, some with white noise added), recognised by faster-whisper (Whisper base, the prepared
model at ``VTM_MODELS_DIR``) through :class:`~vtm.kiosk.voice.VoiceFrontEnd`, and acted on by the
real dialog, gate and NLU against a fresh copy of the seeded sandbox bank. Device turns (card,
PIN pad, receipt) are played as in the conversation tests. The end state is checked in the bank.

A customer who is asked to repeat may say it again in other words, as a real customer does;
each rephrasing is counted and shown when a conversation fails. espeak-ng's Mandarin is robotic
and Whisper base mishears much of it (挂失 gua4shi1 comes out as 华势/话是), so the Mandarin
phrasings are the ones measured to survive (see ``bench/voice.py`` and docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from vtm.config import load_settings
from vtm.dialog.manager import DialogManager
from vtm.dialog.turn import TurnRecord
from vtm.kiosk.bootstrap import KioskServices
from vtm.kiosk.script import Script, Turn
from vtm.kiosk.sim import ScriptClock, play_turn
from vtm.kiosk.testing import DEFAULT_TODAY, ConversationRunner
from vtm.kiosk.voice import VoiceFrontEnd, VoiceTurn
from vtm.speech.asr import AsrOptions, Recognizer, Unheard
from vtm.speech.audio import SAMPLE_RATE, load_audio, write_wav
from vtm.speech.tts import Synthesizer
from vtm.speech.whisper_files import whisper_dir

pytestmark = pytest.mark.slow

_REPAIR = ("repair.no_match", "repair.silence")


@dataclass(frozen=True)
class Say:
    """A spoken customer turn: what they say first, then how they rephrase when asked again."""

    phrasings: tuple[str, ...]
    voice: str | None = None  # espeak-ng variant (m3, f2, ...)
    rate: int | None = None  # words per minute
    snr_db: float | None = None  # white noise added at this signal-to-noise ratio
    state: str | None = None  # the dialog state expected after the turn
    hears: tuple[str, ...] = ()  # what the kiosk's reply must contain (a customer checks the read-back)


Step = Say | str  # a str is a device command, as in conversation scripts


@dataclass
class Conversation:
    """One spoken session on its own fresh copy of the seeded sandbox bank."""

    dm: DialogManager
    services: KioskServices
    clock: ScriptClock
    voice: VoiceFrontEnd
    work: Path
    log: list[str]
    rephrased: int = 0

    def transcript(self) -> str:
        return "\n".join(self.log)

    def balance(self, card: str) -> Decimal:
        core = self.services.core
        return core.balance(core.card_status(card).account_number).balance


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConversationRunner]:
    import torch

    torch.set_num_threads(1)
    settings = load_settings().model_copy(update={"data_dir": tmp_path_factory.mktemp("voice")})
    shared = ConversationRunner(settings)
    yield shared
    shared.close()


@pytest.fixture(scope="module")
def recognizer(runner: ConversationRunner) -> Recognizer:
    asr = Recognizer(whisper_dir(runner.settings.models_path), AsrOptions(cpu_threads=1))
    asr.warm_up()
    return asr


@pytest.fixture(scope="module")
def synth() -> Iterator[Synthesizer]:
    with Synthesizer() as tts:
        yield tts


def _customer_wav(synth: Synthesizer, say: Say, text: str, lang: str, path: Path, seed: int) -> Path:
    """The customer's utterance, with half a second of room silence before it and noise if asked."""
    synth.synthesize(text, lang, path, rate=say.rate, voice_variant=say.voice)
    speech = load_audio(path).samples
    samples = np.concatenate([np.zeros(SAMPLE_RATE // 2, dtype=np.float32), speech])
    if say.snr_db is not None:
        power = float(np.mean(speech**2))
        noise = np.random.default_rng(seed).normal(0.0, np.sqrt(power / 10 ** (say.snr_db / 10)), samples.size)
        samples = (samples + noise).astype(np.float32)
    return write_wav(path, samples)


def _asked_again(record: TurnRecord) -> bool:
    return any(r.key.startswith(_REPAIR) for r in record.replies)


def _open(runner: ConversationRunner, recognizer: Recognizer, synth: Synthesizer, work: Path,
          lang: str) -> Conversation:
    services, clock = runner.services_for(Script(lang=lang, turns=[Turn(device="take_card")]), work / "data")
    dm = DialogManager(services, services.new_session(lang), today=DEFAULT_TODAY)  # type: ignore[arg-type]
    voice = VoiceFrontEnd(recognizer, synth, work / "audio")
    return Conversation(dm, services, clock, voice, work, [f"kiosk: {' '.join(dm.start().bot)}"])


def _play(talk: Conversation, synth: Synthesizer, steps: list[Step]) -> None:
    lang = talk.dm.session.lang
    for number, step in enumerate(steps, start=1):
        if isinstance(step, str):
            rec = play_turn(talk.dm, talk.services.devices, Turn(device=step), talk.clock.advance)  # type: ignore[arg-type]
            talk.log.append(f"[{step}] -> {rec.state}: {' '.join(rec.bot)}")
            continue
        heard = _speak_until_understood(talk, synth, step, lang, talk.work / f"customer-{number}")
        if step.state is not None:
            assert heard.record.state == step.state, talk.transcript()
        said = " ".join(heard.record.bot)
        assert all(text in said for text in step.hears), talk.transcript()


def _speak_until_understood(talk: Conversation, synth: Synthesizer, say: Say, lang: str, stem: Path) -> VoiceTurn:
    for attempt, text in enumerate(say.phrasings):
        talk.clock.advance(4.0)
        wav = _customer_wav(synth, say, text, lang, stem.with_name(f"{stem.name}-{attempt}.wav"), seed=attempt)
        heard = talk.voice.listen(wav, talk.dm)
        transcript = heard.transcript
        talk.log.append(f"customer: {text!r} heard {transcript.heard if transcript else None!r} "
                        f"({transcript.unheard if transcript else heard.problem}) -> {heard.record.state}: "
                        f"{' '.join(heard.record.bot)}")
        assert heard.replies, f"no reply audio was written\n{talk.transcript()}"
        assert all(s.path.is_file() and s.path.stat().st_size > 0 for s in heard.replies)
        if not _asked_again(heard.record):
            return heard
        talk.rephrased += 1
    raise AssertionError(f"the kiosk never understood {say.phrasings}\n{talk.transcript()}")


# Conversations -------------------------------------------------------------------------------
ZHANG_WEI_CARD, ZHANG_WEI_PIN = "6230887983054949930", "955756"
JOHN_CARD, JOHN_PIN = "6230887828564293883", "507798"


def test_a_mandarin_card_loss_spoken_to_the_kiosk_blocks_the_card(
    runner: ConversationRunner, recognizer: Recognizer, synth: Synthesizer, tmp_path: Path
) -> None:
    talk = _open(runner, recognizer, synth, tmp_path, "zh")
    _play(talk, synth, [
        f"insert_card {ZHANG_WEI_CARD}",
        Say(("我的卡丢了", "我的银行卡丢了"), state="card_loss.choose_kind"),
        f"pin {ZHANG_WEI_PIN}",
        Say(("暂时挂失", "暂时的"), voice="m3", rate=120, state="card_loss.confirm"),
        Say(("对，没错", "是的没错"), voice="f2", rate=150, snr_db=20),
        Say(("不需要了", "不需要"), voice="m1", rate=135),
    ])
    assert talk.services.core.card_status(ZHANG_WEI_CARD).status.value == "temporarily_lost", talk.transcript()
    assert talk.dm.session.transactions_done == ["card_loss"], talk.transcript()
    print(f"rephrased {talk.rephrased} time(s)\n{talk.transcript()}")


def test_an_english_transfer_spoken_to_the_kiosk_moves_the_money(
    runner: ConversationRunner, recognizer: Recognizer, synth: Synthesizer, tmp_path: Path
) -> None:
    talk = _open(runner, recognizer, synth, tmp_path, "en")
    before = talk.balance(JOHN_CARD)
    _play(talk, synth, [
        f"insert_card {JOHN_CARD}",
        Say(("I'd like to transfer 2000 yuan to Margaret Thompson",), voice="m3", rate=150),
        f"pin {JOHN_PIN}",
        # Not "the normal 24 hour one": Whisper heard "20 or hour" and the kiosk took 20 as the new amount.
        Say(("the standard one is fine", "normal arrival please"), rate=165, snr_db=15),
        Say(("okay, understood",), voice="f2", rate=180, hears=("two thousand",)),
        Say(("yes, that's correct",), state="transfer.offer_receipt"),
        Say(("no receipt thanks",), voice="m3", rate=150, snr_db=20),
    ])
    assert talk.balance(JOHN_CARD) - before == Decimal("-2000.00"), talk.transcript()
    assert talk.dm.session.transactions_done == ["transfer"], talk.transcript()
    print(f"rephrased {talk.rephrased} time(s)\n{talk.transcript()}")


# Nothing said -------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("kind", ["silence", "white_noise", "quiet_hum"])
def test_silence_and_noise_as_a_turn_produce_no_phantom_text_and_the_kiosk_asks_again(
    runner: ConversationRunner, recognizer: Recognizer, synth: Synthesizer, tmp_path: Path, lang: str, kind: str
) -> None:
    talk = _open(runner, recognizer, synth, tmp_path, lang)
    rng = np.random.default_rng(7)
    seconds = 3 * SAMPLE_RATE
    samples = {
        "silence": np.zeros(seconds, dtype=np.float32),
        "white_noise": rng.normal(0.0, 0.1, seconds).astype(np.float32),
        "quiet_hum": (0.02 * np.sin(2 * np.pi * 50 * np.arange(seconds) / SAMPLE_RATE)
                      + rng.normal(0.0, 0.005, seconds)).astype(np.float32),
    }[kind]
    heard = talk.voice.listen(write_wav(tmp_path / f"{kind}.wav", samples), talk.dm)
    assert heard.transcript is not None
    assert heard.transcript.text == ""
    assert heard.transcript.unheard in (Unheard.SILENCE, Unheard.NO_SPEECH, Unheard.LOW_CONFIDENCE)
    assert heard.record.user in (None, ""), "no words may be put in the customer's mouth"
    assert heard.record.intent in (None, "out_of_scope")
    assert _asked_again(heard.record), heard.record.bot
    assert heard.record.state == "idle"
    assert heard.replies
    assert heard.replies[0].path.is_file()


def test_a_corrupt_recording_is_reported_and_the_kiosk_asks_again(
    runner: ConversationRunner, recognizer: Recognizer, synth: Synthesizer, tmp_path: Path
) -> None:
    talk = _open(runner, recognizer, synth, tmp_path, "zh")
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00not really a wave file")
    heard = talk.voice.listen(broken, talk.dm)
    assert heard.transcript is None
    assert heard.problem is not None
    assert "CorruptAudio" in heard.problem
    assert _asked_again(heard.record)

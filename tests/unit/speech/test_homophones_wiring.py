"""Where the repair sits: between the recogniser and the dialog (vtm.kiosk.voice.VoiceFrontEnd).

The recogniser and the dialog are stand-ins here (the real ones need Whisper and the bank): what
is under test is only what the front end hands on, and what it keeps for the record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from vtm.kiosk.voice import VoiceFrontEnd, domain_repairer
from vtm.speech.asr import Lang, Transcript, Unheard
from vtm.speech.audio import Audio
from vtm.speech.homophones import HomophoneRepairer
from vtm.speech.listen import TurnEnd, Utterance

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class _Heard:
    """A recogniser that hears what it is told to."""

    text: str
    lang: Lang
    unheard: Unheard | None = None

    def transcribe(self, audio: Audio, lang: Lang | None = None) -> Transcript:
        return Transcript("" if self.unheard else self.text, self.lang, 0.9, audio.duration_s, 0.01,
                          self.unheard, heard=self.text)


@dataclass
class _Dialog:
    """The few calls the front end makes on a dialog manager; records the text it was given."""

    lang: Lang
    said: list[str] = field(default_factory=list)
    session: Any = None

    def __post_init__(self) -> None:
        self.session = SimpleNamespace(turn=0, lang=self.lang, elderly=False)

    def _record(self) -> Any:
        return SimpleNamespace(turn=1, replies=[], latency_ms={})

    def defer_recording(self) -> None: ...
    def commit_turn(self) -> None: ...

    def handle_text(self, text: str, **_: object) -> Any:
        self.said.append(text)
        return self._record()

    def not_understood(self, reason: str, **_: object) -> Any:
        return self._record()


@pytest.fixture(scope="module")
def repairer() -> HomophoneRepairer:
    return domain_repairer(ROOT)


def _turn(tmp_path: Path, heard: _Heard, repairer: HomophoneRepairer | None) -> tuple[_Dialog, Transcript | None]:
    front = VoiceFrontEnd(heard, synthesizer=None, out_dir=tmp_path, repairer=repairer)  # type: ignore[arg-type]
    audio = Audio(np.zeros(16_000, dtype=np.float32))
    dialog = _Dialog(heard.lang)
    turn = front.answer(Utterance(audio, 0.0, 1.0, 1.2, TurnEnd.SILENCE), dialog)  # type: ignore[arg-type]
    return dialog, turn.transcript


def test_the_dialog_gets_the_repaired_mandarin_and_the_record_keeps_what_whisper_wrote(
    tmp_path: Path, repairer: HomophoneRepairer
) -> None:
    dialog, transcript = _turn(tmp_path, _Heard("我的卡丢了要挂湿", "zh"), repairer)
    assert dialog.said == ["我的卡丢了要挂失"]
    assert transcript is not None
    assert transcript.text == "我的卡丢了要挂失"
    assert transcript.heard == "我的卡丢了要挂湿"


def test_english_goes_to_the_dialog_as_heard(tmp_path: Path, repairer: HomophoneRepairer) -> None:
    # The repair can join "trans fur", but English was not wired: it failed its blind-set rule.
    dialog, _ = _turn(tmp_path, _Heard("I want to make a trans fur", "en"), repairer)
    assert dialog.said == ["I want to make a trans fur"]


def test_the_benchmarks_ask_what_the_front_end_hands_on(tmp_path: Path, repairer: HomophoneRepairer) -> None:
    """``VoiceOptions.repaired`` (used by bench/asr.py, nlu_voice.py, kb_voice.py) agrees with the front end."""
    from vtm.kiosk.voice import VoiceOptions

    for heard in (_Heard("我的卡丢了要挂湿", "zh"), _Heard("I want to make a trans fur", "en")):
        dialog, _ = _turn(tmp_path, heard, repairer)
        assert dialog.said == [VoiceOptions().repaired(repairer, heard.text, heard.lang)]
    assert VoiceOptions().repaired(repairer, "我要挂湿", "zh") == "我要挂失"
    assert VoiceOptions(repair_langs=()).repaired(repairer, "我要挂湿", "zh") == "我要挂湿"


def test_without_a_repairer_the_transcript_is_handed_on_unchanged(tmp_path: Path) -> None:
    dialog, _ = _turn(tmp_path, _Heard("我要挂湿", "zh"), None)
    assert dialog.said == ["我要挂湿"]


def test_an_unusable_transcript_is_never_repaired_into_words(tmp_path: Path, repairer: HomophoneRepairer) -> None:
    dialog, transcript = _turn(tmp_path, _Heard("挂湿", "zh", Unheard.LOW_CONFIDENCE), repairer)
    assert dialog.said == []
    assert transcript is not None
    assert transcript.text == ""


def test_the_partial_transcript_is_in_the_language_of_the_session_when_the_pause_comes() -> None:
    """A customer who switched to English mid-session is transcribed in English at the next pause."""
    from vtm.kiosk.voice import PartialAsr

    asked: list[str] = []

    class Recogniser:
        def transcribe(self, audio: Audio, lang: Lang) -> Transcript:
            asked.append(lang)
            return Transcript("ok", lang, 0.9, audio.duration_s, 0.01)

    dm = SimpleNamespace(session=SimpleNamespace(lang="zh"))
    partial = PartialAsr(Recogniser(), dm)  # type: ignore[arg-type]
    silence = Audio(np.zeros(1600, dtype=np.float32))
    partial(silence)
    dm.session.lang = "en"
    partial(silence)
    assert asked == ["zh", "en"]
    assert [t.lang for t, _ in partial.results] == ["zh", "en"]

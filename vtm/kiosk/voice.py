"""The kiosk's ears and mouth around the dialog: customer audio in, reply audio out, timed per stage.

One customer turn given as a recording (``vtm sim --audio``, voice tests, benchmarks) goes
through the same steps as the live microphone loop:

1. **End of turn** — the audio is fed frame by frame to :class:`~vtm.speech.listen.TurnDetector`
   (voice activity + the Smart Turn completion model, with the waits of the session's
   :class:`~vtm.speech.listen.ListenMode`: elderly customer, number being dictated), followed by
   ``tail_silence_s`` of silence (the microphone keeps running after the customer stops), so the
   wait is decided exactly as live and measured in stream time (plus the model's wall time).
2. **Recognition** — faster-whisper in the session's language. With ``partial=True`` the
   recogniser runs while the detector still waits (when the completion model says "incomplete";
   without a model at ``ListenOptions.partial_after_s``), and that transcript *is* the final one
   when no speech follows. A turn the model calls complete is transcribed right after. A usable
   Mandarin transcript then goes through the homophone repair (:mod:`vtm.speech.homophones`:
   挂湿 -> 挂失 against the bank's terms; English is not repaired, see ``VoiceOptions.repair_langs``);
   the transcript's ``heard`` keeps what Whisper wrote.
3. **Dialog** — a usable transcript goes to ``DialogManager.handle_text`` with its confidence.
   Nothing said at all (silence, noise the VAD rejects, Whisper's "no speech") is the dialog's
   silence repair; speech that was heard but not usable (low confidence, decoder loop) is its
   no-match repair ("could you say that again"): never a guess, never phantom text.
4. **Speaking** — every reply is synthesised to ``out_dir/turn-<n>-<i>.wav``.

``latency_ms`` of the turn record gets ``end_of_speech`` (the end-of-turn wait), ``asr``,
``nlu``/``gate``/``core`` (from the dialog), ``dialog`` (the rest of the dialog turn), ``tts``
(first reply), ``tts_total`` and ``voice_to_voice``: end of the customer's speech -> first reply
audio ready, the end-of-turn wait included (subtract ``end_of_speech`` for processing alone).
With a recording, stream time stands in for the wall clock during the wait; every processing
stage is measured on the wall clock.

Before the first customer, :meth:`VoiceFrontEnd.warm_up` loads and exercises every model (ASR,
end of turn, NLU, TTS) and returns a :class:`~vtm.speech.readiness.Readiness`.

Usage::

    voice = VoiceFrontEnd(Recognizer(models / "whisper-base"), Synthesizer(), out_dir)
    voice.warm_up(services.nlu.parse)                            # before inviting anyone to speak
    record = voice.hear(Path("customer-turn.wav"), dm)          # a TurnRecord, like handle_text
    heard = voice.listen(Path("customer-turn.wav"), dm)         # plus transcript, audio paths
    store.record_turn(sid, heard.record, names, audio_path=str(heard.input_audio),
                      asr_confidence=heard.asr_confidence)
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vtm.devices import Silence
from vtm.flows.definition import StateKind
from vtm.nlu.entities.lexicon import Lexicon, load_lexicon
from vtm.nlu.types import WARM_UP as NLU_WARM_UP
from vtm.speech.asr import Lang, Recognizer, Transcript, Unheard
from vtm.speech.asr_terms import DomainTerms, load_asr_terms
from vtm.speech.audio import SAMPLE_RATE, Audio, load_audio, write_wav
from vtm.speech.errors import AudioError, SynthesisError
from vtm.speech.homophones import HomophoneRepairer
from vtm.speech.listen import ListenMode, ListenOptions, TurnDetector, Utterance, frames_of
from vtm.speech.readiness import ComponentStatus, Readiness, WarmUpStep
from vtm.speech.smart_turn import SmartTurn, TurnCompletion
from vtm.speech.smart_turn_files import smart_turn_dir
from vtm.speech.tts import Speech, Synthesizer
from vtm.speech.vad import FRAME, StreamingVad
from vtm.speech.whisper_files import whisper_dir

if TYPE_CHECKING:
    from vtm.config import Settings
    from vtm.dialog.manager import DialogManager
    from vtm.dialog.turn import TurnRecord

__all__ = ["PartialAsr", "VoiceFrontEnd", "VoiceOptions", "VoiceTurn", "domain_repairer", "listen_mode", "payee_names",
           "repair_terms"]

_log = logging.getLogger(__name__)

# Nothing was said: the dialog's silence repair ("are you still there?" + the open question).
_NOTHING_SAID = (Unheard.SILENCE, Unheard.NO_SPEECH)
# Slots the customer dictates digit by digit, pausing between groups: the turn waits longer.
_DIGIT_SLOTS = frozenset({"card_number", "account_number", "id_number"})
# What the warm-up says and parses: short, in both kiosk languages, never shown to a customer.
_WARM_UP_TEXT: dict[Lang, str] = {"zh": "您好，我的银行卡丢了。", "en": "Hello, I lost my bank card."}


def listen_mode(dm: DialogManager) -> ListenMode:
    """How to listen to the next turn: elderly session, or the open question asks for a number."""
    flow = dm.session.flow
    digits = False
    if flow is not None and not flow.finished and flow.spec.kind is StateKind.COLLECT:
        types = {slot.name: slot.type for slot in flow.definition.slots}
        missing = flow.missing_slots()
        digits = bool(missing) and types.get(missing[0]) in _DIGIT_SLOTS
    return ListenMode(elderly=dm.session.elderly, digits=digits)


def repair_terms(content_root: Path, lexicon: Lexicon) -> DomainTerms:
    """What the homophone repair may write: ``dialogs/asr_terms.yaml`` plus the lexicon's banks and choices.

    Bank aliases and full names in both languages; the choice phrases (临时挂失, 实时到账) in
    Mandarin only: in English they are everyday words ("paper", "for now") that the recogniser
    gets right and that must never become targets.
    """
    banks = [*lexicon.banks.values, *(name for names in lexicon.bank_names.values() for name in names)]
    choices = lexicon.choices
    phrases = [p for c in (choices.delivery, choices.loss_kind, choices.arrival, choices.language) for p in c.values]
    return load_asr_terms(content_root / "dialogs" / "asr_terms.yaml") + DomainTerms.of(zh=[*banks, *phrases], en=banks)


def payee_names(lexicon: Lexicon) -> re.Pattern[str]:
    """Where a Chinese payee name stands, for the repair to leave alone: 给刘水转五百 pays 刘水, not 流水.

    A payee cue (给, 转给, 收款人是 ...), then a surname and one or two characters that cannot
    end a name (the lexicon's ``zh_name_stops``); not when 银行 follows, which makes it a bank
    (存到农也银行 is still repaired to 农业银行).
    """
    surname = "|".join([*sorted(lexicon.compound_surnames), "[" + "".join(sorted(lexicon.surnames)) + "]"])
    given = "(?![" + re.escape("".join(sorted(lexicon.zh_name_stops))) + "])[\u4e00-\u9fff]"
    return re.compile(f"(?:{lexicon.zh_cues.pattern})(?P<keep>(?:{surname}){given}{{1,2}})(?!银行)")


def domain_repairer(content_root: Path) -> HomophoneRepairer:
    """The kiosk's homophone repair: :func:`repair_terms` and the :func:`payee_names` guard from the content."""
    lexicon = load_lexicon(content_root / "dialogs" / "nlu" / "lexicon")
    return HomophoneRepairer(repair_terms(content_root, lexicon), keep=payee_names(lexicon))


@dataclass(frozen=True)
class VoiceOptions:
    """How recorded turns are listened to."""

    listen: ListenOptions = field(default_factory=ListenOptions)
    # Silence appended after a recording: the live microphone keeps delivering it after the
    # customer stops, and the end-of-turn detector needs it to decide. Longer than any wait.
    tail_silence_s: float = 3.0
    # Transcribe at the first pause, while the end-of-turn wait runs (see module docstring).
    # bench/voice.py: voice-to-voice p50 1.34 -> 1.06 s (zh) / 0.98 s (en), CER/WER no worse.
    partial: bool = True
    max_input_s: float = 60.0
    # Languages whose transcript the homophone repair may change. Blind set (docs/benchmarks.md):
    # zh repaired 72 % of slips and changed none of 188 correct rows; en repaired 7 %, below the
    # 30 % that was required before the set was read, so English goes to the dialog as heard.
    repair_langs: tuple[Lang, ...] = ("zh",)

    def repaired(self, repairer: HomophoneRepairer, text: str, lang: str) -> str:
        """What the dialog is given for a transcript ``text`` in ``lang``: repaired toward the bank's
        words where :attr:`repair_langs` wires the repair, else as heard (the benchmarks ask this too)."""
        return repairer.repair(text, lang).text if lang in self.repair_langs else text


@dataclass(frozen=True)
class VoiceTurn:
    """One spoken customer turn and everything it produced."""

    record: TurnRecord
    transcript: Transcript | None  # None when the input was not usable audio at all
    input_audio: Path | None  # the customer's audio, for the session store
    replies: tuple[Speech, ...] = ()
    problem: str | None = None  # why the input (or a reply's synthesis) could not be used

    @property
    def asr_confidence(self) -> float | None:
        return self.transcript.confidence if self.transcript is not None else None


@dataclass
class _Heard:
    """The outcome of steps 1-2, with stream-time facts for the latency figures."""

    transcript: Transcript
    wait_s: float  # end of speech -> end of turn decided (stream time + the completion model's wall time)
    asr_s: float
    asr_overlap_s: float  # ASR time hidden in the end-of-turn wait (partial mode)
    silent_s: float  # the duration of a turn in which nothing was said
    spoke: bool = False  # the end-of-turn detector found speech (voice-to-voice is measured from its end)


class PartialAsr:
    """The detector's ``partial`` function: ASR on the audio so far, each result kept with its time.

    The language is the session's when the pause comes (the customer may have switched it)."""

    def __init__(self, recognizer: Recognizer, dm: DialogManager) -> None:
        self._recognizer, self._dm = recognizer, dm
        self.results: list[tuple[Transcript, float]] = []

    def __call__(self, so_far: Audio) -> str:
        started = time.perf_counter()
        result = self._recognizer.transcribe(so_far, _lang(self._dm))
        self.results.append((result, time.perf_counter() - started))
        return result.text


class VoiceFrontEnd:
    """Turns customer audio into dialog turns and the replies into WAV files."""

    def __init__(
        self,
        recognizer: Recognizer,
        synthesizer: Synthesizer,
        out_dir: Path,
        options: VoiceOptions | None = None,
        completion: TurnCompletion | None = None,
        repairer: HomophoneRepairer | None = None,
    ) -> None:
        self.recognizer = recognizer
        self.synthesizer = synthesizer
        self.out_dir = out_dir
        self.options = options or VoiceOptions()
        self.completion = completion  # None: the turn ends on silence alone
        self.repairer = repairer  # None: the transcript goes to the dialog as Whisper wrote it
        self.readiness = Readiness()

    @classmethod
    def for_settings(cls, settings: Settings, out_dir: Path, options: VoiceOptions | None = None) -> VoiceFrontEnd:
        """The prepared Whisper and Smart Turn models of ``settings``, an espeak-ng synthesiser and the repair."""
        return cls(Recognizer(whisper_dir(settings.models_path)), Synthesizer(), out_dir, options,
                   SmartTurn(smart_turn_dir(settings.models_path)), domain_repairer(settings.content_root))

    def for_session(self, out_dir: Path) -> VoiceFrontEnd:
        """The same (already warm) models writing to another folder: one per customer session."""
        twin = VoiceFrontEnd(self.recognizer, self.synthesizer, out_dir, self.options, self.completion, self.repairer)
        twin.readiness = self.readiness
        return twin

    def close(self) -> None:
        """Stop the synthesiser's worker process."""
        self.synthesizer.close()

    def warm_up(self, parse: Callable[[str, Lang], object] | None = None,
                on_change: Callable[[ComponentStatus], None] | None = None,
                knowledge: Callable[[], object] | None = None) -> Readiness:
        """Load and exercise every model before the first customer speaks; see :attr:`readiness`.

        ``parse`` is the NLU's parse function (warmed with ``vtm.nlu.types.WARM_UP``). Raises
        the failing component's error after marking it failed: a kiosk that cannot hear says so.
        ``knowledge`` indexes the knowledge base (``KioskServices.warm_knowledge``).
        """
        steps: list[WarmUpStep] = [("asr", self.recognizer.warm_up), ("end_of_turn", self._warm_end_of_turn)]
        if self.repairer is not None:
            steps.append(("asr_repair", self.repairer.warm_up))  # jieba's dictionary: ~0.7 s
        if parse is not None:
            steps.append(("nlu", lambda: [parse(text, lang) for text, lang in NLU_WARM_UP]))
        if knowledge is not None:
            steps.append(("knowledge", knowledge))
        steps.append(("tts", self._warm_tts))
        self.readiness.run(steps, on_change)
        return self.readiness

    def _warm_end_of_turn(self) -> None:
        StreamingVad().probability(np.zeros(FRAME, dtype=np.float32))
        if self.completion is not None:
            self.completion.probability(np.zeros(SAMPLE_RATE, dtype=np.float32))

    def _warm_tts(self) -> None:
        with tempfile.TemporaryDirectory(prefix="vtm-warm-up-") as tmp:
            for lang, text in _WARM_UP_TEXT.items():
                self.synthesizer.synthesize(text, lang, Path(tmp) / f"{lang}.wav")

    # Public API ------------------------------------------------------------------------------
    def hear(self, source: Path | Audio, dm: DialogManager) -> TurnRecord:
        """One customer turn from a recording; returns the dialog's record (replies spoken to WAV)."""
        return self.listen(source, dm).record

    def listen(self, source: Path | Audio, dm: DialogManager) -> VoiceTurn:
        """:meth:`hear`, returning the transcript, the audio paths and any problem as well."""
        number = dm.session.turn + 1  # the number the dialog will give this turn
        try:
            audio = load_audio(source, max_seconds=self.options.max_input_s) if isinstance(source, Path) else source
        except AudioError as exc:
            # A 0-byte, corrupt or overlong recording: the customer is asked again, the reason is kept.
            _log.warning("turn %d: customer audio not usable: %s", number, exc)
            record = dm.handle_device(Silence(0.0))
            return self._speak(VoiceTurn(record, None, source if isinstance(source, Path) else None,
                                         problem=f"{type(exc).__name__}: {exc}"), dm)
        input_path = source if isinstance(source, Path) else write_wav(
            self.out_dir / f"turn-{number}-customer.wav", audio.samples)
        return self._respond(self._recognise(audio, dm), input_path, dm)

    def answer(self, utterance: Utterance, dm: DialogManager, partials: PartialAsr | None = None) -> VoiceTurn:
        """One turn the live detector already ended (no second end-of-turn pass over its audio)."""
        number = dm.session.turn + 1
        input_path = write_wav(self.out_dir / f"turn-{number}-customer.wav", utterance.audio.samples)
        heard = self._heard(utterance, [utterance], partials, dm, utterance.audio.duration_s,
                            utterance.audio.clipped_fraction)
        return self._respond(heard, input_path, dm)

    def detector(self, dm: DialogManager, partials: PartialAsr | None = None) -> TurnDetector:
        """An end-of-turn detector for the live microphone, set for this session's next turn."""
        return TurnDetector(self.options.listen, completion=self.completion, mode=listen_mode(dm), partial=partials)

    def partial_asr(self, dm: DialogManager) -> PartialAsr | None:
        """The ASR-at-the-first-pause function for a detector (None when ``options.partial`` is off)."""
        return PartialAsr(self.recognizer, dm) if self.options.partial else None

    def _respond(self, heard: _Heard, input_path: Path, dm: DialogManager) -> VoiceTurn:
        heard = self._repair(heard, dm.session.turn + 1)
        transcript = heard.transcript
        dm.defer_recording()  # stored once the speech latencies and the reply audio are known
        if transcript.usable:
            record = dm.handle_text(transcript.text, asr_confidence=transcript.confidence,
                                    audio_path=str(input_path))
        elif transcript.unheard in _NOTHING_SAID:
            record = dm.handle_device(Silence(heard.silent_s))
        else:  # heard, not understood well enough to act on: ask again, never guess
            record = dm.not_understood(str(transcript.unheard), asr_confidence=transcript.confidence,
                                       audio_path=str(input_path))
        record.latency_ms["end_of_speech"] = heard.wait_s * 1000
        record.latency_ms["asr"] = heard.asr_s * 1000
        turn = self._speak(VoiceTurn(record, transcript, input_path), dm)
        _finish_latency(record, heard)
        dm.commit_turn()
        return turn

    # Steps -----------------------------------------------------------------------------------
    def _repair(self, heard: _Heard, number: int) -> _Heard:
        """The homophone repair on a usable transcript; its time counts as ASR (after the end of turn)."""
        transcript = heard.transcript
        if self.repairer is None or not transcript.usable or transcript.lang not in self.options.repair_langs:
            return heard
        started = time.perf_counter()
        repaired = self.repairer.repair(transcript.text, transcript.lang)
        spent = time.perf_counter() - started
        if repaired.changed:
            # Domain terms only: what was heard instead may be anything the customer said, so it stays out of the log.
            _log.info("event=asr_repaired turn=%d repairs=%d terms=%s", number, len(repaired.repairs),
                      ",".join(r.term for r in repaired.repairs))
        return replace(heard, transcript=replace(transcript, text=repaired.text), asr_s=heard.asr_s + spent)

    def _recognise(self, audio: Audio, dm: DialogManager) -> _Heard:
        """End of turn over the recording (plus tail silence), then ASR in the session's language."""
        partials = self.partial_asr(dm)
        detector = self.detector(dm, partials)
        tail = np.zeros(int(self.options.tail_silence_s * SAMPLE_RATE), dtype=np.float32)
        utterances: list[Utterance] = []
        for frame in frames_of(replace(audio, samples=np.concatenate([audio.samples, tail]))):
            if (turn := detector.push(frame)) is not None:
                utterances.append(turn)
        if (last_open := detector.flush()) is not None:
            utterances.append(last_open)
        if not utterances:
            nothing = Transcript("", _lang(dm), 0.0, audio.duration_s, 0.0, Unheard.SILENCE, clipped=audio.clipped)
            return _Heard(nothing, 0.0, 0.0, 0.0, audio.duration_s)
        return self._heard(utterances[-1], utterances, partials, dm, audio.duration_s, audio.clipped_fraction)

    def _heard(self, last: Utterance, utterances: list[Utterance], partials: PartialAsr | None,
               dm: DialogManager, duration_s: float, clipped_fraction: float) -> _Heard:
        """ASR for the ended turn: the partial transcript when it covers it all, else a decode now."""
        # The completion model ran on the critical path, after the stream-time silence.
        wait_s = max(0.0, last.decided_s - last.speech_end_s) + last.completion_s
        if (len(utterances) == 1 and last.partial is not None and last.partial_at_s is not None
                and partials is not None and partials.results):
            # Computed during the wait; no speech followed, so it covers the whole turn.
            transcript, asr_s = partials.results[-1]
            # It started partial_at_s after the end of speech: the part before the decision is hidden.
            overlap = min(asr_s, max(0.0, wait_s - last.partial_at_s))
            return _Heard(transcript, wait_s, asr_s, overlap, duration_s, spoke=True)
        # Pauses long enough to end a turn inside one recording: it is still one customer turn.
        speech = np.concatenate([u.audio.samples for u in utterances])
        started = time.perf_counter()
        transcript = self.recognizer.transcribe(Audio(speech, clipped_fraction=clipped_fraction), _lang(dm))
        return _Heard(transcript, wait_s, time.perf_counter() - started, 0.0, duration_s, spoke=True)

    def _speak(self, turn: VoiceTurn, dm: DialogManager) -> VoiceTurn:
        """Synthesise every reply of the turn, in order; the first one's time is on the critical path."""
        record = turn.record
        lang = "en" if dm.session.lang == "en" else "zh"  # after the turn: the customer may have switched
        spoken: list[Speech] = []
        problem = turn.problem
        for index, reply in enumerate(record.replies):
            if not reply.text.strip():
                continue
            path = self.out_dir / f"turn-{record.turn}-{index}.wav"
            try:
                spoken.append(self.synthesizer.synthesize(reply.text, lang, path, elderly=dm.session.elderly))
            except SynthesisError as exc:
                # The reply is still on screen; the missing audio is reported, not hidden.
                _log.error("turn %d: reply %s not synthesised: %s", record.turn, reply.key, exc)
                problem = f"{type(exc).__name__}: {exc}"
        if spoken:
            record.latency_ms["tts"] = spoken[0].tts_s * 1000
            record.latency_ms["tts_total"] = sum(s.tts_s for s in spoken) * 1000
        return replace(turn, replies=tuple(spoken), problem=problem)


def _lang(dm: DialogManager) -> Lang:
    return "en" if dm.session.lang == "en" else "zh"


def _finish_latency(record: TurnRecord, heard: _Heard) -> None:
    """``dialog`` (the dialog turn minus NLU, gate and core) and ``voice_to_voice``."""
    ms = record.latency_ms
    turn_ms = ms.get("turn", 0.0)
    ms["dialog"] = max(0.0, turn_ms - ms.get("nlu", 0.0) - ms.get("gate", 0.0) - ms.get("core", 0.0))
    if "tts" not in ms or not heard.spoke:
        return  # no reply audio, or no customer speech to measure from
    asr_after_decision = heard.asr_s - heard.asr_overlap_s
    ms["voice_to_voice"] = heard.wait_s * 1000 + asr_after_decision * 1000 + turn_ms + ms["tts"]

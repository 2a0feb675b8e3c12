"""Voice-to-voice through the real dialog: synthesised kiosk phrases -> end of turn -> ASR -> dialog -> TTS.

For each language, every utterance of the kiosk phrase list (``bench/asr.py``, >= 40 per language,
spoken by espeak-ng in three voice/speed combinations, half a second of silence before it) is
played into :class:`~vtm.kiosk.voice.VoiceFrontEnd` as the first customer turn of a fresh
session on a seeded sandbox bank (real NLU, gate and dialog). Printed per configuration:

- ASR error: CER (zh) / WER (en) of what Whisper heard, over all utterances, and the share judged usable;
- voice-to-voice p50 / p95 *including* the end-of-turn wait (end of speech -> first reply audio
  ready: what the customer experiences) and *excluding* it (processing after the turn was decided);
- the per-stage split (p50 / p95 of end_of_speech, asr, nlu, gate, core, dialog, tts).

- the share of voice-to-voice taken by each stage on the critical path: end-of-turn wait
  (including the completion model), ASR after the decision, NLU + gate + dialog, TTS of the
  first reply (sum over turns of the stage / sum of voice-to-voice).

Configurations: ``final`` ends the turn on 0.6 s of silence, then transcribes; ``partial`` also
ends on 0.6 s of silence but transcribes at the first pause (0.25 s) while the detector still
waits, and uses that transcript when no speech follows; ``smart`` (the kiosk's default) asks
Smart Turn after 0.2 s of silence, ends there when it says complete and transcribes, and
otherwise transcribes while it waits (up to 1.5 s).

    .venv/bin/python bench/voice.py [--configs final,partial,smart] [--threads 1] [--json]
    .venv/bin/python bench/voice.py --end-of-turn       # false cut-offs and waits: bench/end_of_turn.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from asr import EN, VOICES, ZH, error  # bench/asr.py: the same phrase lists and metrics
from end_of_turn import end_of_turn_report  # bench/end_of_turn.py

from vtm.config import load_settings
from vtm.dialog.manager import DialogManager
from vtm.kiosk.script import Script, Turn
from vtm.kiosk.testing import DEFAULT_TODAY, ConversationRunner
from vtm.kiosk.voice import VoiceFrontEnd, VoiceOptions
from vtm.speech.asr import AsrOptions, Recognizer
from vtm.speech.audio import SAMPLE_RATE, load_audio, write_wav
from vtm.speech.latency import percentile
from vtm.speech.smart_turn import SmartTurn
from vtm.speech.smart_turn_files import smart_turn_dir
from vtm.speech.tts import Synthesizer

STAGES = ("end_of_speech", "asr", "nlu", "gate", "core", "dialog", "tts")
# name -> (options, whether the Smart Turn completion model is used)
CONFIGS = {"final": (VoiceOptions(partial=False), False), "partial": (VoiceOptions(partial=True), False),
           "smart": (VoiceOptions(partial=True), True)}
SHARES = ("wait", "asr", "nlu+dialog", "tts")


def _corpus(synth: Synthesizer, work: Path) -> list[tuple[str, str, Path]]:
    corpus = []
    lead_in = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
    for lang, texts in (("zh", ZH), ("en", EN)):
        for i, text in enumerate(texts):
            variant, rate = VOICES[i % len(VOICES)]
            path = work / f"{lang}-{i}.wav"
            synth.synthesize(text, lang, path, rate=rate, voice_variant=variant)
            write_wav(path, np.concatenate([lead_in, load_audio(path).samples]))
            corpus.append((lang, text, path))
    return corpus


def _ms(values: list[float]) -> dict[str, float]:
    return {"p50": round(percentile(values, 50)), "p95": round(percentile(values, 95))} if values else {}


def run(config: str, corpus: list[tuple[str, str, Path]], runner: ConversationRunner, recognizer: Recognizer,
        synth: Synthesizer, work: Path, completion: SmartTurn) -> dict[str, Any]:
    report: dict[str, Any] = {}
    for lang in ("zh", "en"):
        services, _clock = runner.services_for(Script(lang=lang, turns=[Turn(device="take_card")]),
                                               work / f"data-{config}-{lang}")
        options, smart = CONFIGS[config]
        voice = VoiceFrontEnd(recognizer, synth, work / f"out-{config}-{lang}", options, completion if smart else None)
        # One untimed turn first: the dialog's lazily loaded parts (intent model, knowledge base) load
        # here, as the kiosk's warm-up loads them before its first customer.
        warm = DialogManager(services, services.new_session(lang), today=DEFAULT_TODAY)
        warm.start()
        voice.listen(next(c[2] for c in corpus if c[0] == lang), warm)
        errs = total = usable = 0
        v2v: list[float] = []
        processing: list[float] = []
        stages: dict[str, list[float]] = {s: [] for s in STAGES}
        shares: dict[str, float] = dict.fromkeys(SHARES, 0.0)
        for _, text, path in (c for c in corpus if c[0] == lang):
            dm = DialogManager(services, services.new_session(lang), today=DEFAULT_TODAY)
            dm.start()
            heard = voice.listen(path, dm)
            assert heard.transcript is not None
            e, n = error(text, heard.transcript.heard, lang)
            errs, total, usable = errs + e, total + n, usable + heard.transcript.usable
            ms = heard.record.latency_ms
            if "voice_to_voice" in ms:
                v2v.append(ms["voice_to_voice"])
                processing.append(ms["voice_to_voice"] - ms["end_of_speech"])
                turn = ms.get("turn", 0.0)
                for part, value in zip(SHARES, (ms["end_of_speech"], ms["voice_to_voice"] - ms["end_of_speech"]
                                                - turn - ms["tts"], turn, ms["tts"]), strict=True):
                    shares[part] += value
            for stage in STAGES:
                stages[stage].append(ms.get(stage, 0.0))
        metric = "cer" if lang == "zh" else "wer"
        report[lang] = {
            "utterances": len(stages["asr"]),
            metric: round(errs / total, 3),
            "usable": f"{usable}/{len(stages['asr'])}",
            "voice_to_voice_ms (end-of-turn wait included)": _ms(v2v),
            "voice_to_voice_ms (wait excluded)": _ms(processing),
            "stages_ms": {s: _ms(v) for s, v in stages.items()},
            "share_of_voice_to_voice": {k: f"{100 * v / max(sum(v2v), 1e-9):.0f} %" for k, v in shares.items()},
        }
        services.audit.engine.dispose()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--configs", default="final,partial,smart")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--end-of-turn", action="store_true",
                        help="only the end-of-turn benchmark (false cut-offs, waits); see bench/end_of_turn.py")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # The prepared models (as tests/conftest.py does), so nothing is re-trained in the temp data dir.
    os.environ.setdefault("VTM_MODELS_DIR", str(Path(platformdirs.user_data_dir("vtm", appauthor=False)) / "models"))
    work = Path(tempfile.mkdtemp(prefix="vtm-bench-voice-"))
    settings = load_settings().model_copy(update={"data_dir": work / "settings"})
    completion = SmartTurn(smart_turn_dir(settings.models_path))
    completion.warm_up()
    if args.end_of_turn:
        with Synthesizer() as synth:
            report = end_of_turn_report(synth, work, completion)
        for name, figures in report.items():
            print(json.dumps({name: figures}, ensure_ascii=False) if not args.json else "", flush=True)
        if args.json:
            print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    runner = ConversationRunner(settings)
    recognizer = Recognizer(settings.models_path / "whisper-base", AsrOptions(cpu_threads=args.threads))
    recognizer.warm_up()
    out: dict[str, Any] = {"threads": args.threads, "listen": str(VoiceOptions().listen)}
    with Synthesizer() as synth:
        corpus = _corpus(synth, work)
        for config in args.configs.split(","):
            out[config] = run(config, corpus, runner, recognizer, synth, work, completion)
            if not args.json:
                for lang, figures in out[config].items():
                    print(config, lang, json.dumps(figures, ensure_ascii=False), flush=True)
    runner.close()
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

"""Voice-to-voice through the real dialog: synthesised kiosk phrases -> end of turn -> ASR -> dialog -> TTS.

For each language, every utterance of the kiosk phrase list (``bench/asr.py``, >= 40 per language,
spoken by espeak-ng in three voice/speed combinations, half a second of silence before it) is
played into :class:`~vtm.kiosk.voice.VoiceFrontEnd` as the first customer turn of a fresh
session on a seeded sandbox bank (real NLU, gate and dialog). Printed per configuration:

- ASR error: CER (zh) / WER (en) of what Whisper heard, over all utterances, and the share judged usable;
- voice-to-voice p50 / p95 *including* the end-of-turn wait (end of speech -> first reply audio
  ready: what the customer experiences) and *excluding* it (processing after the turn was decided);
- the per-stage split (p50 / p95 of end_of_speech, asr, nlu, gate, core, dialog, tts).

Configurations: ``final`` transcribes after the end-of-turn detector decided (0.6 s of silence);
``partial`` transcribes at the first pause (0.25 s) while the detector still waits, and uses
that transcript as the final one when no speech follows.

    .venv/bin/python bench/voice.py [--configs final,partial] [--threads 1] [--json]
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

from vtm.config import load_settings
from vtm.dialog.manager import DialogManager
from vtm.kiosk.script import Script, Turn
from vtm.kiosk.testing import DEFAULT_TODAY, ConversationRunner
from vtm.kiosk.voice import VoiceFrontEnd, VoiceOptions
from vtm.speech.asr import AsrOptions, Recognizer
from vtm.speech.audio import SAMPLE_RATE, load_audio, write_wav
from vtm.speech.latency import percentile
from vtm.speech.tts import Synthesizer

STAGES = ("end_of_speech", "asr", "nlu", "gate", "core", "dialog", "tts")
CONFIGS = {"final": VoiceOptions(partial=False), "partial": VoiceOptions(partial=True)}


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
        synth: Synthesizer, work: Path) -> dict[str, Any]:
    report: dict[str, Any] = {}
    for lang in ("zh", "en"):
        services, _clock = runner.services_for(Script(lang=lang, turns=[Turn(device="take_card")]),
                                               work / f"data-{config}-{lang}")
        voice = VoiceFrontEnd(recognizer, synth, work / f"out-{config}-{lang}", CONFIGS[config])
        errs = total = usable = 0
        v2v: list[float] = []
        processing: list[float] = []
        stages: dict[str, list[float]] = {s: [] for s in STAGES}
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
        }
        services.audit.engine.dispose()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--configs", default="final,partial")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # The prepared models (as tests/conftest.py does), so nothing is re-trained in the temp data dir.
    os.environ.setdefault("VTM_MODELS_DIR", str(Path(platformdirs.user_data_dir("vtm", appauthor=False)) / "models"))
    work = Path(tempfile.mkdtemp(prefix="vtm-bench-voice-"))
    settings = load_settings().model_copy(update={"data_dir": work / "settings"})
    runner = ConversationRunner(settings)
    recognizer = Recognizer(settings.models_path / "whisper-base", AsrOptions(cpu_threads=args.threads))
    recognizer.warm_up()
    out: dict[str, Any] = {"threads": args.threads, "end_of_turn_silence_s": VoiceOptions().listen.trailing_silence_s}
    with Synthesizer() as synth:
        corpus = _corpus(synth, work)
        for config in args.configs.split(","):
            out[config] = run(config, corpus, runner, recognizer, synth, work)
            if not args.json:
                for lang, figures in out[config].items():
                    print(config, lang, json.dumps(figures, ensure_ascii=False), flush=True)
    runner.close()
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

"""Intents as the voice path parses them: each utterance through the kiosk's homophone repair first.

At the kiosk a spoken Mandarin turn reaches the NLU after the recogniser's text has been repaired
toward the bank's words (``vtm.kiosk.voice.domain_repairer``; ``VoiceOptions.repair_langs`` is zh
only, so English goes as heard). ``vtm nlu evaluate`` parses the set's text as typed; this parses
what the NLU would be given by voice and prints both reports (accuracy, out-of-scope recall, per
kind), side by side. The twin of ``bench/kb_voice.py``.

    VTM_MODELS_DIR=~/.local/share/vtm/models .venv/bin/python bench/nlu_voice.py tests/data/nlu/blind7/zh.csv

Figures in ``docs/benchmarks.md`` ("NLU").
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from vtm.common.clitools import settings_or_exit
from vtm.kiosk.voice import VoiceOptions, domain_repairer
from vtm.nlu.evaluate import evaluate_intents, load_intent_rows
from vtm.nlu.parser import NluParser

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("utterances", type=Path, help="CSV with text,intent,lang[,kind]")
    args = parser.parse_args()

    settings = settings_or_exit()
    nlu = NluParser(settings.models_path, settings.content_root / "dialogs" / "nlu")
    rows = load_intent_rows(args.utterances)
    repairer = domain_repairer(settings.content_root)
    repairer.warm_up()
    options = VoiceOptions()
    heard = [dataclasses.replace(r, text=options.repaired(repairer, r.text, r.lang)) for r in rows]
    result: dict[str, object] = {"file": str(args.utterances),
                                 "repaired": sum(a.text != b.text for a, b in zip(rows, heard, strict=True))}
    for name, parsed in (("typed", rows), ("voice_path", heard)):
        report = evaluate_intents(nlu, parsed)
        result[name] = {"accuracy": round(report.accuracy, 4),
                        "out_of_scope_recall": report.out_of_scope_recall,
                        "by_kind": {kind: round(score.accuracy, 4) for kind, score in sorted(report.by_kind.items())}}
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()

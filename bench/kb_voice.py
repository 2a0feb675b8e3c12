"""Knowledge answers as the voice path asks them: each question through the kiosk's homophone repair first.

At the kiosk a spoken Mandarin question reaches the dialog, and so the knowledge base, after the
recogniser's text has been repaired toward the bank's words (``vtm.kiosk.voice.domain_repairer``;
``VoiceOptions.repair_langs`` is zh only, so English goes as heard). ``vtm kb evaluate`` asks the
set's text as typed; this asks what the knowledge base would be given by voice, and prints both
reports side by side, per language and per value of ``--by`` columns.

Run: ``VTM_MODELS_DIR=~/.local/share/vtm/models .venv/bin/python bench/kb_voice.py FILE.csv [--by kind]``.
Figures in ``docs/benchmarks.md`` ("Knowledge answers").
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path

from vtm.kiosk.voice import VoiceOptions, domain_repairer
from vtm.knowledge import KnowledgeBase
from vtm.knowledge.evaluate import evaluate, read_questions

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("--by", action="append", default=[])
    args = parser.parse_args()
    models = Path(os.environ.get("VTM_MODELS_DIR", Path.home() / ".local/share/vtm/models"))
    kb = KnowledgeBase.load(ROOT, models)
    questions = read_questions(args.questions, kb.content, by=args.by)
    repairer = domain_repairer(ROOT)
    repairer.warm_up()
    options = VoiceOptions()
    heard = [dataclasses.replace(q, text=options.repaired(repairer, q.text, q.lang)) for q in questions]
    changed = sum(a.text != b.text for a, b in zip(questions, heard, strict=True))
    result = {"file": str(args.questions), "repaired_questions": changed}
    for name, asked in (("typed", questions), ("voice_path", heard)):
        report = evaluate(kb, asked, by=args.by).as_dict()
        report.pop("mistakes")
        result[name] = report
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()

"""Choose one language's knowledge-answer settings on the development sets, by the rule in docs/knowledge.md.

The rule (written before any sweep): over a grid of (threshold, length relief, outside ceiling), keep
the triple with the best top-1 on the answerable questions of the development sets pooled, among
those whose wrong-answer rate on the must-decline questions of *every* given set pooled stays within
``--max-wrong`` (3 %). Ties go to the higher threshold, then the lower relief, then the lower ceiling
(the more careful setting). Each question is ranked once; only the decision is swept.

    .venv/bin/python bench/kb_calibrate.py en tests/data/kb/blind2_labelled.csv tests/data/kb/blind{3,4,5}/en.csv \\
        --decline-only tests/data/kb/blind.csv tests/data/kb/dev.csv

Never pass a held-out set: it would no longer be held out. Prints the chosen triple and the figures
at the current settings for comparison; ``--json`` prints the whole report.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lang", choices=("zh", "en"))
    parser.add_argument("csv", type=Path, nargs="+", help="development sets (other languages' rows are skipped)")
    parser.add_argument("--decline-only", type=Path, nargs="*", default=[],
                        help="sets whose must-decline questions count but whose answerable ones do not")
    parser.add_argument("--max-wrong", type=float, default=0.03)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from vtm.common.clitools import settings_or_exit
    from vtm.knowledge.base import KnowledgeBase
    from vtm.knowledge.evaluate import read_questions
    from vtm.knowledge.models import Thresholds

    settings = settings_or_exit()
    kb = KnowledgeBase.load(settings.content_root, settings.models_path)
    questions = [q for path in args.csv for q in read_questions(path, kb.content) if q.lang == args.lang]
    questions += [q for path in args.decline_only for q in read_questions(path, kb.content)
                  if q.lang == args.lang and q.entry is None]
    ranked = [(q, kb.assess(q.text, q.lang)) for q in questions]
    answerable = sum(q.entry is not None for q, _ in ranked)
    must_decline = len(ranked) - answerable
    current = kb.settings

    def figures(threshold: float, relief: float, ceiling: float | None) -> tuple[float, float]:
        both = {"zh": 0.0, "en": 0.0}
        kb.settings = current.model_copy(update={
            "threshold": Thresholds(**{**both, args.lang: threshold}),
            "length_relief": Thresholds(**{**both, args.lang: relief}),
            "outside_ceiling": None if ceiling is None else Thresholds(**{**both, args.lang: ceiling}),
        })
        right = wrong = 0
        for question, ranking in ranked:
            answered = ranking.candidates[0].entry_id if kb.answers(ranking) else None
            if question.entry is None:
                wrong += answered is not None
            else:
                right += answered == question.entry
        return right / answerable, wrong / must_decline

    lang = args.lang
    now = figures(current.threshold.of(lang), current.length_relief.of(lang) if current.length_relief else 0.0,
                  current.outside_ceiling.of(lang) if current.outside_ceiling else None)
    grid: list[dict[str, Any]] = []
    for threshold in np.round(np.arange(0.40, 0.8001, 0.01), 2):
        for relief in (0.0, 0.02, 0.04, 0.06, 0.08, 0.10):
            for ceiling in (0.10, 0.20, 0.30, 0.40, 0.50, 0.60, None):
                top1, wrong = figures(float(threshold), relief, ceiling)
                grid.append({"threshold": float(threshold), "length_relief": relief, "outside_ceiling": ceiling,
                             "top1": round(top1, 4), "wrong_answer_rate": round(wrong, 4)})
    allowed = [row for row in grid if row["wrong_answer_rate"] <= args.max_wrong]
    chosen = max(allowed, key=lambda r: (r["top1"], r["threshold"], -r["length_relief"],
                                         -(r["outside_ceiling"] if r["outside_ceiling"] is not None else 1.0)),
                 default=None)
    report = {"lang": lang, "sets": [str(p) for p in args.csv],
              "decline_only": [str(p) for p in args.decline_only], "answerable": answerable,
              "must_decline": must_decline, "max_wrong": args.max_wrong,
              "current": {"top1": round(now[0], 4), "wrong_answer_rate": round(now[1], 4)},
              "chosen": chosen, **({"grid": grid} if args.json else {})}
    print(json.dumps(report, ensure_ascii=False, indent=None if args.json else 2))


if __name__ == "__main__":
    main()

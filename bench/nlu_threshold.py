"""The intent model's out-of-scope threshold over development sets: accuracy and out-of-scope recall.

Training calibrates a threshold on held-out *training* lines; ``dialogs/nlu/calibration.yaml``
may replace it with one chosen here, on independently written development sets, by the rule
written down before the sweep (docs/nlu.md): pool the sets, keep the threshold with the best
accuracy among those with out-of-scope recall at least ``--min-oos-recall``, and among the
thresholds within ``--plateau`` (0.005, the training's ``threshold_plateau``) of that accuracy the
one with the highest out-of-scope recall (since round 9: on a flat plateau the best accuracy alone
picked 0.20, where a rambling request at confidence 0.204 went through as a task). Never run it on
a held-out set: that set would then no longer be held out.

    .venv/bin/python bench/nlu_threshold.py              # blind and blind7 (the development sets), both languages
    .venv/bin/python bench/nlu_threshold.py tests/data/nlu/blind7/zh.csv --json

Since round 9 blind2-blind6 are training lines (docs/nlu.md), so the development sets are the two
blind sets still kept out of training: ``blind`` and ``blind7``.

Needs a prepared e5 and the trained intent model (``vtm models prepare``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEVELOPMENT = [ROOT / "tests" / "data" / "nlu" / name / f"{lang}.csv"
               for name in ("blind", "blind7") for lang in ("zh", "en")]
OUT_OF_SCOPE = "out_of_scope"


def figures(gold: list[str], best: list[str], confidence: np.ndarray, threshold: float) -> tuple[float, float]:
    """Accuracy and out-of-scope recall when the best intent below ``threshold`` becomes out_of_scope."""
    predicted = [b if c >= threshold or b == OUT_OF_SCOPE else OUT_OF_SCOPE
                 for b, c in zip(best, confidence, strict=True)]
    right = [p == g for p, g in zip(predicted, gold, strict=True)]
    outside = [r for r, g in zip(right, gold, strict=True) if g == OUT_OF_SCOPE]
    return float(np.mean(right)), float(np.mean(outside)) if outside else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("csv", type=Path, nargs="*", default=DEVELOPMENT)
    parser.add_argument("--min-oos-recall", type=float, default=0.91)
    parser.add_argument("--plateau", type=float, default=0.005,
                        help="accuracy this close to the best counts as equal (the training's threshold_plateau)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    from vtm.common.clitools import settings_or_exit
    from vtm.nlu.evaluate import load_intent_rows
    from vtm.nlu.normalize import normalize
    from vtm.nlu.parser import NluParser

    torch.set_num_threads(1)
    settings = settings_or_exit()
    classifier = NluParser(settings.models_path, settings.content_root / "dialogs" / "nlu").classifier
    gold: list[str] = []
    best: list[str] = []
    confidence: list[float] = []
    for path in args.csv:
        rows = load_intent_rows(path)
        texts = [normalize(r.text, r.lang if r.lang in ("zh", "en") else None).text or r.text  # type: ignore[arg-type]
                 for r in rows]
        for start in range(0, len(texts), 32):
            for prediction in classifier.predict_many(texts[start:start + 32]):
                top, score = prediction.ranking[0]
                best.append(top)
                confidence.append(score)
        gold.extend(r.intent for r in rows)
    scores = np.array(confidence)
    grid = [round(float(t), 2) for t in np.arange(0.20, 0.81, 0.01)]
    table = [{"threshold": t, **dict(zip(("accuracy", "out_of_scope_recall"), figures(gold, best, scores, t),
                                         strict=True))} for t in grid]
    eligible = [row for row in table if row["out_of_scope_recall"] >= args.min_oos_recall]
    top = max((row["accuracy"] for row in eligible), default=None)
    # Within ``--plateau`` of the best accuracy, the most careful threshold: the one that declines most.
    plateau = [row for row in eligible if top is not None and row["accuracy"] >= top - args.plateau]
    pick = max(plateau, key=lambda row: (row["out_of_scope_recall"], row["threshold"]), default=None)
    trained = classifier.meta.threshold
    report = {
        "sets": [str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p) for p in args.csv],
        "rows": len(gold),
        "model": classifier.meta.key[:12],
        "trained_threshold": round(trained, 3),
        "in_use": round(classifier.threshold, 3),
        "at_trained": dict(zip(("accuracy", "out_of_scope_recall"), figures(gold, best, scores, trained),
                               strict=True)),
        "pick": pick,
        "table": table,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{report['rows']} rows from {len(args.csv)} file(s); model {report['model']}; "
          f"trained threshold {report['trained_threshold']}, in use {report['in_use']}")
    for row in table[::2]:
        print(f"  {row['threshold']:.2f}  accuracy {row['accuracy']:.3f}  out-of-scope recall "
              f"{row['out_of_scope_recall']:.3f}")
    print(f"at the trained threshold: {report['at_trained']}")
    print(f"pick (best accuracy with out-of-scope recall >= {args.min_oos_recall}, "
          f"most careful on its plateau): {pick}")


if __name__ == "__main__":
    main()

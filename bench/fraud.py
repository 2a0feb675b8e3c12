"""Fraud-script detection on a labelled CSV: recall on fraud rows, false alarms on benign rows.

Run::

    .venv/bin/python bench/fraud.py tests/data/fraud/calibration.csv            # the shipped pack's figures
    .venv/bin/python bench/fraud.py tests/data/fraud/calibration.csv --errors   # missed / false rows
    .venv/bin/python bench/fraud.py tests/data/fraud/blind9.csv --json          # a held-out set: aggregate figures only
    # calibration grid on the pooled development sets, and the pick by the rule written down first:
    .venv/bin/python bench/fraud.py tests/data/fraud/{calibration,dev}.csv --former tests/data/fraud/former/*.csv \
        --sweep --pick 0.97

Several CSVs are pooled into one set. The CSV has the columns ``text,label,fraud_type,lang``
(``label`` fraud|benign). Each row is one thing a customer says; it is *caught* when a
warning-level fraud rule of the pack fires on it at ``transfer.payee`` (the first transfer
checkpoint): the phrase rule (``fraud_cue``), the semantic rule (``fraud_semantic``), or both.
The rules run exactly as the gate runs them: the pack's own figures and the kiosk's e5 encoder.
``--sweep`` and ``--errors`` are for development sets (``calibration.csv``, written blind by
another writer; ``dev.csv``, the exemplars' author's own; ``blind.csv`` and ``blind2.csv`` once
their held-out runs were done): a held-out set stays unread so that it remains independent of
the exemplars and the thresholds. ``--pick R`` prints the setting with the fewest false alarms
among those whose recall is at least R on the pooled rows and that flag none of the honest
customers' words in the conversation tests (``dialogs/tests``: every ``say`` of a script that
expects no fraud verdict, i.e. everyday requests and answers the check reads all day; since
2026-12-05, after a pick that met the recall rule warned plain requests such as "send 500 to
my sister").
Since round 6 (2026-12-05) the pick must also keep false alarms within the issue's budget
(``--max-false-alarms``, 0.02): the first setting to reach recall 0.96 warned 3.4 % of the honest
rows. When no setting meets both, the fallback written down in round 4 decides: the highest
recall within that budget, none of the honest conversation words flagged, fewer false alarms on
a tie. The report says which rule chose.
Since round 7 (2026-12-06) the former held-out sets are exemplars (``tests/data/fraud/former/``);
``--former`` pools them into the sweep, each scored by the index without its own lines (leave one
writer out), so that the figures are those of a writer the exemplars have not seen.
Since round 11 (2026-12-06) the grid also sweeps the lexical classifier (character n-grams; its C and
weight); ``--k`` and ``--c`` restrict the e5 part of the grid to given values (to keep a run short).
Since round 14 (2026-12-06) the recall floor is 0.97 (``--pick 0.97``): the four held-out sets since
round 10 scored 1.5-3.9 points below the pooled recall, with false alarms there of 0.7-1.3 %.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from vtm.compliance import Effect, Gate, GateContext, SessionFacts, load_pack
from vtm.compliance.pack import Rule
from vtm.kiosk.bootstrap import nlu_embedder

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
CHECKPOINT = "transfer.payee"
FRAUD_CHECKS = ("fraud_cue", "fraud_semantic")


@dataclass(frozen=True)
class Row:
    text: str
    fraud: bool
    fraud_type: str
    lang: str
    source: str = ""


def read_rows(path: Path) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"text", "label", "fraud_type", "lang"} - set(reader.fieldnames or ())
        if missing:
            sys.exit(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        rows = []
        for number, record in enumerate(reader, start=2):
            label = (record["label"] or "").strip()
            if label not in ("fraud", "benign"):
                sys.exit(f"{path}: line {number}: label must be fraud or benign, not {label!r}")
            rows.append(Row(record["text"], label == "fraud", (record["fraud_type"] or "").strip(), record["lang"],
                            path.stem))
    return rows


def honest_conversation_rows() -> list[Row]:
    """What the customers of the conversation tests say, in the scripts that expect no fraud verdict."""
    import yaml

    rows = []
    for path in sorted((ROOT / "dialogs" / "tests").rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        if "fraud" in path.as_posix().lower() or "FRAUD" in text:
            continue
        script = yaml.safe_load(text)
        rows += [Row(str(turn["say"]), False, "conversation", script.get("lang", "zh"))
                 for turn in script.get("turns", []) if isinstance(turn, dict) and turn.get("say")]
    return rows


def context(text: str) -> GateContext:
    return GateContext(
        session=SessionFacts(
            session_id="S-BENCH",
            kiosk_id="VTM-0001",
            started_at=NOW,
            last_activity_at=NOW,
            now=NOW,
            recent_utterances=(text,),
        ),
        transaction="transfer",
    )


def warn_rules(gate: Gate) -> list[Rule]:
    """The fraud rules that warn on the words alone (no escalation) at the first transfer checkpoint."""
    return [
        r
        for r in gate.pack.rules_for(CHECKPOINT)
        if r.check.name in FRAUD_CHECKS and r.effect is Effect.WARN and getattr(r.params, "escalate_when", None) is None
    ]


def rate(hits: int, total: int) -> float | None:
    return None if total == 0 else round(hits / total, 4)


def summarise(rows: list[Row], caught: list[bool]) -> dict[str, Any]:
    groups: dict[str, list[bool]] = defaultdict(list)
    for row, hit in zip(rows, caught, strict=True):
        kind = "fraud" if row.fraud else "benign"
        groups[f"{kind}"].append(hit)
        groups[f"{kind}|lang={row.lang}"].append(hit)
        if row.fraud:
            groups[f"fraud|type={row.fraud_type}"].append(hit)
    out: dict[str, Any] = {}
    for key in sorted(groups):
        hits = groups[key]
        measure = "recall" if key.startswith("fraud") else "false_alarm_rate"
        out[key] = {"n": len(hits), measure: rate(sum(hits), len(hits))}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("csv", type=Path, nargs="*", default=[ROOT / "tests" / "data" / "fraud" / "calibration.csv"])
    parser.add_argument("--pack", type=Path, default=ROOT / "compliance" / "policy.yaml")
    parser.add_argument("--models-dir", type=Path, default=None, help="prepared models (default: $VTM_MODELS_DIR)")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.add_argument("--errors", action="store_true", help="missed and falsely flagged rows (not on a blind set)")
    parser.add_argument("--sweep", action="store_true", help="recall / false alarms over a grid (not on a blind set)")
    parser.add_argument("--pick", type=float, default=None, metavar="RECALL",
                        help="with --sweep: the fewest false alarms at recall >= RECALL")
    parser.add_argument("--former", type=Path, nargs="*", default=[], metavar="CSV",
                        help="with --sweep: former held-out sets whose lines are exemplars now; each is scored "
                             "by an index without its own lines (leave one writer out) and pooled")
    parser.add_argument("--max-false-alarms", type=float, default=0.02, metavar="RATE",
                        help="with --pick: no pick above this false-alarm rate (the issue's budget)")
    parser.add_argument("--k", type=int, nargs="*", default=list(SWEEP_K), help="with --sweep: neighbours to try")
    parser.add_argument("--c", type=float, nargs="*", default=list(SWEEP_C), help="with --sweep: classifier Cs to try")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    models = args.models_dir or Path(os.environ.get("VTM_MODELS_DIR", Path.home() / ".local/share/vtm/models"))
    rows = [row for path in args.csv for row in read_rows(path)]
    pack = load_pack(args.pack)
    started = time.perf_counter()
    gate = Gate(pack, embedder=nlu_embedder(models), embedding_cache=models / "fraud-exemplars")
    build_s = time.perf_counter() - started
    rules = warn_rules(gate)
    if not rules:
        sys.exit(f"{args.pack}: no warning-level fraud rule applies at {CHECKPOINT}")

    by_rule: dict[str, list[bool]] = {r.id: [] for r in rules}
    latency_ms: list[float] = []
    for row in rows:
        ctx = context(row.text)
        for rule in rules:
            start = time.perf_counter()
            fired = rule.check.fn(ctx, rule.params, gate.resources) is not None
            if rule.check.name == "fraud_semantic":
                latency_ms.append((time.perf_counter() - start) * 1000)  # a new utterance: embed + matmul
            by_rule[rule.id].append(fired)
    caught = [any(by_rule[r.id][i] for r in rules) for i in range(len(rows))]

    report: dict[str, Any] = {
        "csv": " ".join(str(path) for path in args.csv),
        "rows": len(rows),
        "policy_version": pack.short_version,
        "rules": [r.id for r in rules],
        "either": summarise(rows, caught),
        "by_rule": {rid: summarise(rows, hits) for rid, hits in by_rule.items()},
        "gate_build_s": round(build_s, 2),
        "semantic_check_ms": {
            "p50": round(statistics.median(latency_ms), 2) if latency_ms else None,
            "p95": round(float(np.percentile(latency_ms, 95)), 2) if latency_ms else None,
        },
    }
    honest = honest_conversation_rows()
    report["honest_conversation_alarms"] = sum(
        any(r.check.fn(context(row.text), r.params, gate.resources) is not None for r in rules) for row in honest)
    report["honest_conversation_rows"] = len(honest)
    if args.sweep:
        former = [row for path in args.former for row in read_rows(path)]
        report["former_rows"] = len(former)
        report["sweep"] = sweep(gate, rows, models, honest, former, tuple(args.k), tuple(args.c))
        if args.pick is not None:
            report["pick"], report["pick_rule"] = pick(report["sweep"], args.pick, args.max_false_alarms)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print_report(report)
    if args.errors:
        for row, hit in zip(rows, caught, strict=True):
            if hit != row.fraud:
                print(f"{'MISSED' if row.fraud else 'FALSE '} [{row.lang} {row.fraud_type or '-'}] {row.text}")


def pick(grid: list[dict[str, Any]], recall: float, max_false_alarms: float) -> tuple[dict[str, Any] | None, str]:
    """The setting the calibration rule chooses from a sweep, and which rule chose it."""
    quiet = [line for line in grid if line["honest_conversation_alarms"] == 0
             and line["false_alarm_rate"] is not None and line["false_alarm_rate"] <= max_false_alarms]
    eligible = [line for line in quiet if (line["recall"] or 0) >= recall]
    if eligible:
        return min(eligible, key=lambda line: (line["false_alarm_rate"], -line["recall"])), f"recall >= {recall}"
    fallback = max(quiet, key=lambda line: (line["recall"] or 0, -line["false_alarm_rate"]), default=None)
    return fallback, f"fallback: highest recall with false alarms <= {max_false_alarms}"


SWEEP_K = (3, 5, 8)
SWEEP_C = (16.0, 64.0, 256.0)
SWEEP_WEIGHT = (0.0, 0.01, 0.02, 0.03, 0.05)
SWEEP_LEXICAL_C = (4.0, 16.0)
SWEEP_LEXICAL_WEIGHT = (0.005, 0.01, 0.015, 0.02)


def _evidence(matches: list[Any], weight: float, min_score: float = 0.2, lexical_weight: float = 0.0) -> np.ndarray:
    """Each match's evidence for fraud at these weights; -inf below ``min_score``."""
    return np.array([m.evidence(weight, lexical_weight) if m.score >= min_score else -np.inf for m in matches])


def sweep(gate: Gate, rows: list[Row], models: Path, honest: list[Row], former: list[Row],
          ks: tuple[int, ...] = SWEEP_K, cs: tuple[float, ...] = SWEEP_C) -> list[dict[str, Any]]:
    """Semantic rule alone, over a grid of (k, C, classifier weight, lexical C and weight, min_margin)
    at ``min_score`` 0.2: for calibration, never on a held-out set.

    ``former``: rows of former held-out sets that are exemplars now, pooled with ``rows``. Each
    set is scored by the index without the lines equal to its rows (folded as the pack folds
    them), so its figures are those of a writer the exemplars have not seen.
    """
    from vtm.compliance.matching import fold
    from vtm.compliance.semantic import SemanticIndex

    if gate.pack.exemplars is None:
        return []
    full = SemanticIndex(gate.pack.exemplars, nlu_embedder(models), cache_dir=models / "fraud-exemplars",
                         classifier_cs=cs, lexical_cs=SWEEP_LEXICAL_C,
                         remember=len(rows) + len(former) + len(honest) + 1)
    groups: list[tuple[Any, list[Row]]] = [(full, rows)]
    for source in dict.fromkeys(row.source for row in former):
        own = [row for row in former if row.source == source]
        keys = {fold(row.text) for row in own}
        groups.append((full.without(lambda e, keys=keys: fold(e.text) in keys, source), own))
    pooled = [row for _, group in groups for row in group]
    fraud_rows = np.array([row.fraud for row in pooled])
    out = []
    lexical_grid = [(None, 0.0)] + [(lc, lw) for lc in SWEEP_LEXICAL_C for lw in SWEEP_LEXICAL_WEIGHT]
    for k in ks:
        for c in cs:
            for lexical_c in (None, *SWEEP_LEXICAL_C):
                matches = [m for index, group in groups
                           for m in index.match([row.text for row in group], k, c, lexical_c)]
                everyday = full.match([row.text for row in honest], k, c, lexical_c) if honest else []
                for weight in SWEEP_WEIGHT:
                    if weight == 0 and c != cs[0]:
                        continue  # the classifier plays no part: one row is enough
                    for lc, lexical_weight in lexical_grid:
                        if lc != lexical_c:
                            continue
                        evidence = _evidence(matches, weight, lexical_weight=lexical_weight)
                        plain = _evidence(everyday, weight, lexical_weight=lexical_weight)
                        for min_margin in np.arange(-0.02, 0.1001, 0.0025):
                            fired = evidence >= min_margin
                            out.append(
                                {
                                    "k": k,
                                    "min_score": 0.2,
                                    "classifier_c": c if weight else None,
                                    "classifier_weight": weight,
                                    "lexical_c": lexical_c,
                                    "lexical_weight": lexical_weight,
                                    "min_margin": round(float(min_margin), 4),
                                    "recall": rate(int(fired[fraud_rows].sum()), int(fraud_rows.sum())),
                                    "false_alarm_rate": rate(int(fired[~fraud_rows].sum()),
                                                             int((~fraud_rows).sum())),
                                    "honest_conversation_alarms": int((plain >= min_margin).sum()),
                                }
                            )
    return out


def print_report(report: dict[str, Any]) -> None:
    print(f"{report['csv']}: {report['rows']} rows, policy {report['policy_version']}, rules {report['rules']}")
    print(f"\n{'group (phrase OR semantic)':<44}{'n':>5}{'measure':>18}{'value':>8}")
    for key, value in report["either"].items():
        measure, figure = next((k, v) for k, v in value.items() if k != "n")
        print(f"{key:<44}{value['n']:>5}{measure:>18}{figure:>8}")
    for rule_id, summary in report["by_rule"].items():
        fraud, benign = summary.get("fraud", {}), summary.get("benign", {})
        print(f"\n{rule_id} alone: recall {fraud.get('recall')}, false alarms {benign.get('false_alarm_rate')}")
    print(f"\nhonest customers' words in the conversation tests flagged: {report['honest_conversation_alarms']}"
          f" of {report['honest_conversation_rows']}")
    lat = report["semantic_check_ms"]
    print(
        f"\ngate build {report['gate_build_s']} s; semantic check per new utterance "
        f"p50 {lat['p50']} ms, p95 {lat['p95']} ms"
    )
    if "pick_rule" in report:
        print(f"\npick rule: {report['pick_rule']}")
    for line in report.get("sweep", []) + ([report["pick"]] if report.get("pick") else []):
        print(
            f"{'PICK ' if line is report.get('pick') else ''}k={line['k']} min_score={line['min_score']:.2f} "
            f"C={line['classifier_c']} weight={line['classifier_weight']} lexical C={line.get('lexical_c')} "
            f"weight={line.get('lexical_weight', 0.0)} min_margin={line['min_margin']:+.4f}"
            f"  recall {line['recall']}  false alarms {line['false_alarm_rate']}"
            f"  honest conversation alarms {line['honest_conversation_alarms']}"
        )


if __name__ == "__main__":
    main()

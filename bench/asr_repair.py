"""Homophone repair of ASR text (vtm/speech/homophones.py): repairs, corruptions and latency, per language.

Reads a CSV with columns ``id,lang,heard,meant,kind`` (kind ``slip``: the recogniser wrote
``heard`` for ``meant``; kind ``correct``: ``heard`` is right and must come out unchanged) and prints,
per language:

- slips: repaired exactly (output equals ``meant``), changed wrongly (output differs from both),
  left as heard;
- correct rows: corrupted (output differs from ``heard``);
- latency of one repair call (after warm-up): p50, p95, max, and the warm-up time.

Texts are compared after NFKC, case folding and collapsing white space (all white space removed
for zh): "ICBC" and "icbc" are the same answer, a different character is not.

    .venv/bin/python bench/asr_repair.py [tests/data/asr/dev_slips.csv] [--show] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import time
import unicodedata
from pathlib import Path

from vtm.kiosk.voice import domain_repairer  # the repair exactly as the kiosk builds it
from vtm.speech.latency import percentile

ROOT = Path(__file__).resolve().parents[1]


def _same(a: str, b: str, lang: str) -> bool:
    def norm(text: str) -> str:
        text = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
        return text.replace(" ", "") if lang == "zh" else text

    return norm(a) == norm(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", type=Path, default=ROOT / "tests" / "data" / "asr" / "dev_slips.csv")
    parser.add_argument("--show", action="store_true", help="print every row the repair got wrong")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    rows = list(csv.DictReader(args.csv.open(encoding="utf-8")))
    repairer = domain_repairer(ROOT)
    started = time.perf_counter()
    repairer.warm_up()
    warm_up_s = time.perf_counter() - started

    report: dict[str, dict[str, float | int]] = {}
    misses: list[str] = []
    for lang in ("zh", "en"):
        mine = [r for r in rows if r["lang"] == lang]
        if not mine:
            continue
        counts = dict.fromkeys(("slips", "repaired", "wrong_change", "untouched", "correct", "corrupted"), 0)
        times: list[float] = []
        for row in mine:
            t0 = time.perf_counter()
            out = repairer.repair(row["heard"], lang).text  # type: ignore[arg-type]
            times.append((time.perf_counter() - t0) * 1000)
            if row["kind"] == "slip":
                counts["slips"] += 1
                if _same(out, row["meant"], lang):
                    counts["repaired"] += 1
                elif _same(out, row["heard"], lang):
                    counts["untouched"] += 1
                    misses.append(f"  missed   {row['id']}: {row['heard']} (meant {row['meant']})")
                else:
                    counts["wrong_change"] += 1
                    misses.append(f"  WRONG    {row['id']}: {row['heard']} -> {out} (meant {row['meant']})")
            else:
                counts["correct"] += 1
                if not _same(out, row["heard"], lang):
                    counts["corrupted"] += 1
                    misses.append(f"  CORRUPT  {row['id']}: {row['heard']} -> {out}")
        report[lang] = {
            **counts,
            "repaired_rate": round(counts["repaired"] / max(counts["slips"], 1), 3),
            "corruption_rate": round(counts["corrupted"] / max(counts["correct"], 1), 3),
            "latency_p50_ms": round(percentile(times, 50), 2),
            "latency_p95_ms": round(percentile(times, 95), 2),
            "latency_max_ms": round(max(times), 2),
        }
    if args.json:
        print(json.dumps({"file": str(args.csv), "warm_up_s": round(warm_up_s, 2), "langs": report}, indent=2))
        return
    print(f"{args.csv}  (warm-up {warm_up_s:.2f} s)")
    print(f"{'lang':4} {'slips':>5} {'repaired':>9} {'wrong':>6} {'left':>5} {'correct':>7} {'corrupted':>9}"
          f" {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}")
    for lang, r in report.items():
        print(f"{lang:4} {r['slips']:>5} {r['repaired']:>3} {r['repaired_rate']:>5.1%} {r['wrong_change']:>6}"
              f" {r['untouched']:>5} {r['correct']:>7} {r['corrupted']:>3} {r['corruption_rate']:>5.1%}"
              f" {r['latency_p50_ms']:>7} {r['latency_p95_ms']:>7} {r['latency_max_ms']:>7}")
    if args.show and misses:
        print("\n".join(misses))


if __name__ == "__main__":
    main()

"""Text-turn latency over the conversation corpus: NLU + dialog + gate + core, in process.

Runs every conversation in ``dialogs/tests`` (or the paths given) through the real kiosk
services (sandbox bank on SQLite, gate with the full pack and its audit log, e5 intent model
with one torch thread) and prints p50/p95 of the whole turn and of each stage, for turns the
customer spoke (device turns are reported apart).

    .venv/bin/python bench/dialog_turns.py [PATH ...]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

from vtm.config import load_settings
from vtm.kiosk.testing import ConversationRunner, discover


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str]) -> int:
    settings = load_settings()
    paths = [Path(p) for p in argv] or [settings.content_root / "dialogs" / "tests"]
    with tempfile.TemporaryDirectory() as data:
        runner = ConversationRunner(settings.model_copy(update={"data_dir": Path(data),
                                                                "models_dir": settings.models_path}))
        # A kiosk loads its models at start, before the first customer: warm up the same way.
        runner.nlu.parse("你好", "zh")
        runner.nlu.parse("hello", "en")
        spoken: dict[str, list[float]] = {}
        device: list[float] = []
        files = discover(paths)
        failed = 0
        for path in files:
            result = runner.run(path)
            failed += not result.passed
            for rec in result.turns[1:]:
                if rec.user is not None:
                    for stage, ms in rec.latency_ms.items():
                        spoken.setdefault(stage, []).append(ms)
                elif rec.device is not None:
                    device.append(rec.latency_ms.get("turn", 0.0))
        runner.close()
    turns = spoken.get("turn", [])
    print(f"conversations: {len(files)} ({failed} failing), spoken turns: {len(turns)}, device turns: {len(device)}")
    print(f"{'stage':<8} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    for stage in ("turn", "nlu", "gate", "core"):
        values = spoken.get(stage, [])
        if values:
            print(f"{stage:<8} {len(values):>5} {_pct(values, 0.5):>8.1f} {_pct(values, 0.95):>8.1f} "
                  f"{statistics.fmean(values):>8.1f}")
    if device:
        print(f"{'device':<8} {len(device):>5} {_pct(device, 0.5):>8.1f} {_pct(device, 0.95):>8.1f} "
              f"{statistics.fmean(device):>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Dashboard figures: sessions per day, completion and hand-off rates, verdict counts, latency p50/p95.

Computed from the store's masked read models over a window of days (default 14). Percentiles
use the nearest-rank method on the recorded per-stage latencies.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from vtm.records.store import SessionStore
from vtm.records.views import SessionFilter

__all__ = ["DashboardData", "compute_dashboard", "percentile"]

_VERDICT_ORDER = ("allow", "warn", "ask", "step_up", "refer", "deny")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class DashboardData:
    days: list[date]
    sessions_per_day: list[int]
    completion_rate: list[float | None]  # percent of ended sessions per day
    handoff_rate: list[float | None]
    total_sessions: int
    completed: int
    handed_off: int
    verdicts: dict[str, int]
    latency: dict[str, tuple[float, float]]  # stage -> (p50, p95) in ms


def compute_dashboard(store: SessionStore, *, today: date, tz: tzinfo, days: int = 14) -> DashboardData:
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, time(0), tzinfo=tz)
    end = datetime.combine(today + timedelta(days=1), time(0), tzinfo=tz)
    summaries = store.summaries(SessionFilter(started_from=start, started_before=end))
    day_list = [first + timedelta(days=i) for i in range(days)]
    per_day: dict[date, list[str]] = defaultdict(list)
    for s in summaries:
        per_day[s.started_at.astimezone(tz).date()].append(s.outcome)
    completion: list[float | None] = []
    handoff: list[float | None] = []
    for day in day_list:
        ended = [o for o in per_day[day] if o != "active"]
        completion.append(100 * ended.count("completed") / len(ended) if ended else None)
        handoff.append(100 * ended.count("handed_off") / len(ended) if ended else None)
    verdicts: Counter[str] = Counter()
    stages: dict[str, list[float]] = defaultdict(list)
    for turn in store.all_turn_payloads([s.session_id for s in summaries]):
        verdicts.update(str(v.get("outcome")) for v in turn.verdicts)
        for stage, ms in turn.latency_ms.items():
            stages[stage].append(float(ms))
    ordered_verdicts = {k: verdicts.get(k, 0) for k in _VERDICT_ORDER}
    ordered_verdicts.update({k: n for k, n in verdicts.items() if k not in ordered_verdicts})
    outcomes = Counter(s.outcome for s in summaries)
    return DashboardData(
        days=day_list,
        sessions_per_day=[len(per_day[d]) for d in day_list],
        completion_rate=completion,
        handoff_rate=handoff,
        total_sessions=len(summaries),
        completed=outcomes["completed"],
        handed_off=outcomes["handed_off"],
        verdicts=ordered_verdicts,
        latency={stage: (percentile(v, 50), percentile(v, 95)) for stage, v in sorted(stages.items()) if v},
    )

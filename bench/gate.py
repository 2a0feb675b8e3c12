"""Gate decision time: p50/p95 per check (each rule of the shipped pack) and per checkpoint (full pack).

Run: ``.venv/bin/python bench/gate.py [--n 2000]``. Target (issue 3): p95 under 2 ms for a full
checkpoint. ``evaluate`` is the pure decision; ``check+audit`` adds the permit and the SQLite append.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from vtm.audit import AuditKeyring, AuditLog
from vtm.banking.models import Arrival, CardStatus
from vtm.compliance import (
    AuthFactor,
    CoreFacts,
    Gate,
    GateContext,
    Identity,
    RecentTransfer,
    SessionFacts,
    Slots,
    load_pack,
)
from vtm.compliance.matching import fold, pinyin_key
from vtm.kiosk.bootstrap import nlu_embedder

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)


def context(transaction: str = "transfer") -> GateContext:
    confirmed = NOW - timedelta(seconds=20)
    return GateContext(
        session=SessionFacts(
            session_id="S-BENCH",
            kiosk_id="VTM-0001",
            started_at=NOW - timedelta(minutes=3),
            last_activity_at=NOW,
            now=NOW,
            recent_utterances=("你好我要转账", "给王芳转八百块钱", "对的没错", "Yes please go ahead"),
            heard={"compliance.transfer.delayed_arrival": confirmed - timedelta(seconds=5)},
        ),
        identity=Identity(customer_id="C-1", factors=frozenset({AuthFactor.CARD, AuthFactor.PIN})),
        transaction=transaction,
        slots=Slots(
            amount=Decimal("800.00"),
            from_account="6222000011112222",
            card_number="6222000011112222",
            payee_account="6217000099998888",
            payee_name="王芳",
            payee_bank="中国建设银行",
            arrival=Arrival.DELAYED,
            payee_confirmed_at=confirmed - timedelta(seconds=40),
            arrival_chosen_at=confirmed - timedelta(seconds=30),
            confirmed_at=confirmed,
        ),
        core=CoreFacts(
            card_status=CardStatus.ACTIVE,
            daily_transferred=Decimal("1200.00"),
            recent_transfers=(RecentTransfer(at=NOW - timedelta(hours=2), amount=Decimal("400.00")),),
        ),
    )


def timed(fn: Callable[[], object], n: int) -> tuple[float, float]:
    for _ in range(min(200, n)):
        fn()  # warm caches (zhconv dictionary, pinyin)
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    pack = load_pack(ROOT / "compliance" / "policy.yaml")
    models = Path(os.environ.get("VTM_MODELS_DIR", Path.home() / ".local/share/vtm/models"))
    # fraud_semantic embeds with the kiosk's e5; the session's utterances are embedded once, then
    # remembered, so the figures below are the warm decision (bench/fraud.py times a new utterance).
    embedder, cache = nlu_embedder(models), models / "fraud-exemplars"
    gate = Gate(pack, clock=lambda: NOW, embedder=embedder, embedding_cache=cache)
    ctx = context()
    print(f"policy {pack.short_version}  rules={len(pack.rules)}  n={args.n}\n")
    print(f"{'rule (check)':<52}{'p50 ms':>10}{'p95 ms':>10}")
    for rule in pack.rules:
        rule_ctx = (
            ctx
            if rule.applies_to("transfer.execute")
            or not rule.spec.applies_to[0].startswith(("statement", "card_loss", "balance"))
            else context(rule.spec.applies_to[0].split(".")[0])
        )
        p50, p95 = timed(lambda r=rule, c=rule_ctx: r.check.fn(c, r.params, gate.resources), args.n)
        print(f"{rule.id + ' (' + rule.check.name + ')':<52}{p50:>10.4f}{p95:>10.4f}")
    print(f"\n{'checkpoint, full pack':<52}{'p50 ms':>10}{'p95 ms':>10}")
    for checkpoint in (
        "transfer.payee",
        "transfer.confirm",
        "transfer.execute",
        "balance.show",
        "statement.produce",
    ):
        c = ctx if checkpoint.startswith("transfer") else context(checkpoint.split(".")[0])
        p50, p95 = timed(lambda cp=checkpoint, cc=c: gate.evaluate(cp, cc), args.n)
        print(f"{checkpoint + ' evaluate':<52}{p50:>10.4f}{p95:>10.4f}")

    def cold() -> object:  # every utterance and name new to the caches, as in a live session
        fold.cache_clear()
        pinyin_key.cache_clear()
        return gate.evaluate("transfer.confirm", ctx)

    p50, p95 = timed(cold, args.n)
    print(f"{'transfer.confirm evaluate, cold text caches':<52}{p50:>10.4f}{p95:>10.4f}")
    with tempfile.TemporaryDirectory() as tmp:
        audit = AuditLog.from_url(f"sqlite:///{tmp}/records.sqlite3", AuditKeyring.ephemeral())
        audited = Gate(pack, audit=audit, clock=lambda: NOW, embedder=embedder, embedding_cache=cache)
        p50, p95 = timed(lambda: audited.check("transfer.execute", ctx), max(200, args.n // 10))
        print(f"{'transfer.execute check+audit (SQLite file)':<52}{p50:>10.4f}{p95:>10.4f}")


if __name__ == "__main__":
    main()

"""Transfers per second of the sandbox bank, on SQLite and (if VTM_TEST_POSTGRES_URL is set) PostgreSQL.

Each transfer is one complete keyed call: idempotency check, payer/payee lookup, guarded balance
updates, balanced postings, commit. Measured single-process and with two processes in parallel
(the machine has two cores). Argon2 is not involved (no PIN checks).

    .venv/bin/python bench/bank_transfers.py [--count 600]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from vtm.banking.models import Arrival, TransferRequest
from vtm.banking.sandbox import SandboxBank, SandboxPolicy, create_bank_engine, drop_bank_schema
from vtm.banking.sandbox.builder import BankBuilder
from vtm.banking.sandbox.ledger import check_ledger
from vtm.banking.sandbox.pins import PinHasher
from vtm.common.checksums import gb11643_check_char, luhn_check_digit

POLICY = SandboxPolicy(pin_hash_time_cost=1, pin_hash_memory_kib=64)
PAYERS = [f"31001000000{n:02d}0001" for n in range(1, 5)]
PAYEE = "3100100000990001"


def build(url: str, schema: str | None) -> None:
    engine = create_bank_engine(url, schema=schema)
    with Session(engine) as session, session.begin():
        b = BankBuilder(session, PinHasher.from_policy(POLICY), datetime.now(UTC))
        for n, account in enumerate([*PAYERS, PAYEE], start=1):
            body = f"11010119800101{n:02d}1"
            customer = b.customer(f"C{n}", f"客户{n}", body + gb11643_check_char(body), phone="13800000000")
            row = b.account(customer, account)
            card = f"623088{n:012d}"
            b.card(customer, row, card + luhn_check_digit(card), pin="123456")
            b.deposit(row, 10**9)  # 10 million yuan: Balance (Money) caps at 100 million
    engine.dispose()


def run(url: str, schema: str | None, payer: str, count: int, arrival: Arrival) -> float:
    engine = create_bank_engine(url, schema=schema, create_tables=False)
    bank = SandboxBank(engine, policy=POLICY)
    bank.balance(payer)  # connect before timing
    started = time.perf_counter()
    for _ in range(count):
        bank.transfer(
            TransferRequest(
                idempotency_key=uuid.uuid4().hex,
                from_account=payer,
                to_account=PAYEE,
                payee_name="客户5",
                payee_bank="示例银行",
                amount=Decimal("1.00"),
                arrival=arrival,
            )
        )
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def _worker(url: str, schema: str | None, payer: str, count: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    out.put(run(url, schema, payer, count, Arrival.REALTIME))


def bench(name: str, url: str, schema: str | None, count: int) -> None:
    build(url, schema)
    for arrival in (Arrival.REALTIME, Arrival.DELAYED):
        elapsed = run(url, schema, PAYERS[0], count, arrival)
        rate = count / elapsed
        print(
            f"{name:10s} 1 process  {arrival.value:8s} {rate:8.0f} transfers/s  ({count} in {elapsed:.2f} s)"
        )
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, schema, PAYERS[i + 1], count, out)) for i in range(2)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    wall = time.perf_counter() - started
    busy = max(out.get() for _ in procs)
    print(
        f"{name:10s} 2 processes realtime {2 * count / busy:8.0f} transfers/s  "
        f"({2 * count} in {busy:.2f} s of transfers, {wall:.2f} s with process start-up)"
    )
    engine = create_bank_engine(url, schema=schema, create_tables=False)
    with Session(engine) as session:
        check = check_ledger(session)
    engine.dispose()
    print(f"{name:10s} ledger balanced: {check.ok} ({check.posting_count} postings)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=600, help="transfers per measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench("sqlite", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", None, args.count)
    url = os.environ.get("VTM_TEST_POSTGRES_URL")
    if url:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        try:
            bench("postgresql", url, schema, args.count)
        finally:
            drop_bank_schema(url, schema)
    else:
        print(
            "postgresql skipped:",
            os.environ.get("VTM_TEST_POSTGRES_SKIP_REASON", "VTM_TEST_POSTGRES_URL not set"),
        )


if __name__ == "__main__":
    main()

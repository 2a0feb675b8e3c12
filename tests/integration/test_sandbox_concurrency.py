"""Two processes racing on one sandbox bank: no overdraft, no double posting, ledger balanced.

Runs on an SQLite file and, when ``VTM_TEST_POSTGRES_URL`` is set, on PostgreSQL (each test in a
schema of its own). Workers are separate OS processes (``spawn``) with their own engines, started
together on an event, so their transactions really interleave at the database.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from vtm.banking.errors import InsufficientFunds
from vtm.banking.models import Arrival, TransferRequest, TransferStatus
from vtm.banking.sandbox import SandboxBank, SandboxPolicy, create_bank_engine, drop_bank_schema
from vtm.banking.sandbox.builder import BankBuilder
from vtm.banking.sandbox.ledger import check_ledger
from vtm.banking.sandbox.pins import PinHasher
from vtm.banking.sandbox.schema import PostingRow, TransferRow
from vtm.common.checksums import gb11643_check_char, luhn_check_digit

POLICY = SandboxPolicy(pin_hash_time_cost=1, pin_hash_memory_kib=64)
PAYER, PAYEE = "3100100000010001", "3100100000020001"
PAYER_FEN = 100_000  # 1,000.00 yuan
AMOUNT = Decimal("10.00")
ATTEMPTS_PER_WORKER = 80  # 2 x 80 x 10 yuan = 1,600 yuan asked for, 1,000 available


def _card(seq: int) -> str:
    payload = f"623088{seq:012d}"
    return payload + luhn_check_digit(payload)


def _build(engine: Engine) -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    with Session(engine) as session, session.begin():
        b = BankBuilder(session, PinHasher.from_policy(POLICY), now)
        payer = b.customer(
            "C1", "张伟", "11010119800101001" + gb11643_check_char("11010119800101001"), phone="13800000001"
        )
        payee = b.customer(
            "C2", "李娜", "11010519900307002" + gb11643_check_char("11010519900307002"), phone="13800000002"
        )
        a1, a2 = b.account(payer, PAYER), b.account(payee, PAYEE)
        b.card(payer, a1, _card(1), pin="123456")
        b.card(payee, a2, _card(2), pin="654321")
        b.deposit(a1, PAYER_FEN)


def _spend(url: str, schema: str | None, keys: list[str], go: Barrier, results: mp.Queue) -> None:  # type: ignore[type-arg]
    """Worker process: wait until every worker is ready, then try every transfer; report what happened."""
    engine = create_bank_engine(url, schema=schema, create_tables=False)
    bank = SandboxBank(engine, policy=POLICY)
    posted, refused = [], 0
    bank.balance(PAYER)  # connect and warm up before the start line
    go.wait(timeout=60)
    for key in keys:
        try:
            result = bank.transfer(
                TransferRequest(
                    idempotency_key=key,
                    from_account=PAYER,
                    to_account=PAYEE,
                    payee_name="李娜",
                    payee_bank="示例银行",
                    amount=AMOUNT,
                    arrival=Arrival.REALTIME,
                )
            )
        except InsufficientFunds:
            refused += 1
        else:
            assert result.status is TransferStatus.POSTED
            posted.append(result.reference)
    engine.dispose()
    results.put((posted, refused))


def _race(url: str, schema: str | None, keys_per_worker: list[list[str]]) -> list[tuple[list[str], int]]:
    ctx = mp.get_context("spawn")
    go, results = ctx.Barrier(len(keys_per_worker)), ctx.Queue()
    workers = [ctx.Process(target=_spend, args=(url, schema, keys, go, results)) for keys in keys_per_worker]
    for w in workers:
        w.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=30)
        assert w.exitcode == 0
    return outcomes


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def bank_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'race.sqlite3'}", None
        return
    url = os.environ.get("VTM_TEST_POSTGRES_URL")
    if not url:
        pytest.skip(os.environ.get("VTM_TEST_POSTGRES_SKIP_REASON", "VTM_TEST_POSTGRES_URL not set"))
    schema = f"race_{uuid.uuid4().hex[:12]}"
    yield url, schema
    drop_bank_schema(url, schema)


@pytest.mark.slow
def test_two_processes_spending_the_same_balance_never_overdraw(bank_url: tuple[str, str | None]) -> None:
    url, schema = bank_url
    engine = create_bank_engine(url, schema=schema)
    _build(engine)
    keys = [[f"race-{w}-{i:04d}" for i in range(ATTEMPTS_PER_WORKER)] for w in range(2)]
    outcomes = _race(url, schema, keys)
    posted = [ref for refs, _ in outcomes for ref in refs]
    refused = sum(n for _, n in outcomes)
    assert len(posted) == PAYER_FEN // 1000  # exactly the balance, to the fen
    assert len(posted) + refused == 2 * ATTEMPTS_PER_WORKER
    assert all(refs for refs, _ in outcomes), "both workers got some money: they really raced"
    bank = SandboxBank(engine, policy=POLICY)
    assert bank.balance(PAYER).balance == Decimal("0.00")
    assert bank.balance(PAYEE).balance == Decimal("1000.00")
    with Session(engine) as session:
        check = check_ledger(session)
    assert check.ok, check
    engine.dispose()


@pytest.mark.slow
def test_two_processes_sending_the_same_keys_post_each_transfer_once(
    bank_url: tuple[str, str | None],
) -> None:
    url, schema = bank_url
    engine = create_bank_engine(url, schema=schema)
    _build(engine)
    shared = [f"dup-{i:04d}" for i in range(40)]  # 40 x 10 yuan: affordable once, not twice
    outcomes = _race(url, schema, [shared, list(reversed(shared))])
    assert all(refused == 0 for _, refused in outcomes)
    first, second = (sorted(refs) for refs, _ in outcomes)
    assert first == second, "both processes see the same transfer for each key"
    with Session(engine) as session:
        transfers = session.scalar(select(func.count()).select_from(TransferRow))
        payer_lines = session.scalar(
            select(func.count())
            .select_from(PostingRow)
            .where(PostingRow.account_number == PAYER, PostingRow.amount_fen < 0)
        )
        check = check_ledger(session)
    assert transfers == payer_lines == 40
    assert check.ok, check
    assert SandboxBank(engine, policy=POLICY).balance(PAYER).balance == Decimal("600.00")
    engine.dispose()

"""Fixtures that build every CoreBanking implementation over the same seeded demo bank.

``core`` is parametrized over:

* ``sandbox-sqlite``   the in-process :class:`SandboxBank` on a SQLite file,
* ``http-sqlite``      :class:`HttpCoreBanking` talking to a real uvicorn server on a free
                       localhost port (in a thread), which serves ``create_app(SandboxBank(...))``
                       and admits only requests signed by the test kiosk (fixture ``kiosk``),
* ``sandbox-postgres`` the in-process sandbox on PostgreSQL (``VTM_TEST_POSTGRES_URL``; skipped
                       with ``VTM_TEST_POSTGRES_SKIP_REASON`` when no server could be started).

Every test gets a fresh bank: the seeded SQLite file is built once per session and copied; the
PostgreSQL database is reset and seeded per test. The clock is a :class:`ManualClock` shared with
the bank, so tests move time (loss reports lapse, delayed transfers fall due) without sleeping.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine, text
from starlette.types import ASGIApp

from vtm.audit.db import scratch_schema
from vtm.banking.http_client import HttpCoreBanking, RequestSigner
from vtm.banking.http_server import create_app
from vtm.banking.port import CoreBanking
from vtm.banking.sandbox import SandboxBank, SandboxPolicy, create_bank_engine
from vtm.banking.sandbox.schema import Base
from vtm.banking.sandbox.seed import DemoCard, seed_demo_bank
from vtm.banking.signing import KioskKey, KioskKeyTable

# A fixed "today" keeps the seeded history, and every date the tests use, deterministic.
TODAY = date(2025, 6, 16)
START = datetime(2025, 6, 16, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Monday

# Cheap PIN hashing for tests; production parameters are SandboxPolicy's defaults.
TEST_POLICY = SandboxPolicy(pin_hash_time_cost=1, pin_hash_memory_kib=64, pin_hash_parallelism=1)


class ManualClock:
    """A clock tests move by hand. Thread-safe: the HTTP server reads it from worker threads."""

    def __init__(self, start: datetime = START) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta


@dataclass
class BankWorld:
    """One fresh bank: its engine, the in-process sandbox, the clock, and the seeded demo cards."""

    engine: Engine
    sandbox: SandboxBank
    clock: ManualClock
    cards: list[DemoCard]


def _new_sandbox(engine: Engine, clock: ManualClock) -> SandboxBank:
    return SandboxBank(engine, clock=clock, policy=TEST_POLICY)


@pytest.fixture(scope="session")
def seeded_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[DemoCard]]:
    """Seed the demo bank once per session (worker) into a file that tests copy."""
    path = tmp_path_factory.mktemp("bank-template") / "bank.sqlite3"
    engine = create_bank_engine(f"sqlite:///{path}")
    cards = seed_demo_bank(engine, TODAY, reset=True, policy=TEST_POLICY)
    engine.dispose()
    return path, cards


@pytest.fixture
def sqlite_world(tmp_path: Path, seeded_sqlite_template: tuple[Path, list[DemoCard]]) -> Iterator[BankWorld]:
    template, cards = seeded_sqlite_template
    path = tmp_path / "bank.sqlite3"
    shutil.copyfile(template, path)
    engine = create_bank_engine(f"sqlite:///{path}")
    clock = ManualClock()
    yield BankWorld(engine, _new_sandbox(engine, clock), clock, cards)
    engine.dispose()


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


PostgresSchema = Callable[[str], AbstractContextManager[str]]


@pytest.fixture(scope="session")
def postgres_schema() -> PostgresSchema:
    """``with postgres_schema("prefix") as url``: a database URL on a schema of its own, dropped after
    (skipped, with the reason, when no PostgreSQL server could be started)."""
    base = os.environ.get("VTM_TEST_POSTGRES_URL")
    if not base:
        pytest.skip(os.environ.get("VTM_TEST_POSTGRES_SKIP_REASON", "VTM_TEST_POSTGRES_URL is not set"))

    return partial(scratch_schema, base)


@pytest.fixture(scope="session")
def postgres_template() -> tuple[str, str, list[DemoCard]]:
    """Seed the demo bank once per session (worker) into its own PostgreSQL schema."""
    url = os.environ.get("VTM_TEST_POSTGRES_URL")
    if not url:
        pytest.skip(os.environ.get("VTM_TEST_POSTGRES_SKIP_REASON", "VTM_TEST_POSTGRES_URL is not set"))
    template = f"contract_tpl_{_worker()}"
    engine = create_bank_engine(url, schema=template)
    cards = seed_demo_bank(engine, TODAY, reset=True, policy=TEST_POLICY)
    engine.dispose()
    return url, template, cards


@pytest.fixture
def postgres_world(postgres_template: tuple[str, str, list[DemoCard]]) -> Iterator[BankWorld]:
    """A fresh copy of the seeded template in this worker's schema (all constraints in place)."""
    url, template, cards = postgres_template
    schema = f"contract_{_worker()}"  # one schema per xdist worker: workers never reset each other's bank
    engine = create_bank_engine(url, schema=schema)
    tables = Base.metadata.sorted_tables
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(f'"{schema}"."{t.name}"' for t in tables)))
        for table in tables:
            copy = f'INSERT INTO "{schema}"."{table.name}" SELECT * FROM "{template}"."{table.name}"'
            conn.execute(text(copy))
            for column in table.primary_key.columns:
                sequence = conn.scalar(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                       {"t": f'"{schema}"."{table.name}"', "c": column.name})
                if sequence is not None:
                    conn.execute(text(f'SELECT setval(:s, (SELECT COALESCE(MAX("{column.name}"), 0) + 1 '
                                      f'FROM "{schema}"."{table.name}"), false)'), {"s": sequence})
    clock = ManualClock()
    yield BankWorld(engine, _new_sandbox(engine, clock), clock, cards)
    engine.dispose()


class ServerThread:
    """A real uvicorn server on a free localhost port, in a daemon thread."""

    def __init__(self, app: ASGIApp) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


@pytest.fixture
def start_server() -> Iterator[Callable[[ASGIApp], str]]:
    """Start real uvicorn servers for ``app``s; returns each one's base URL; stops them after the test."""
    servers: list[ServerThread] = []

    def start(app: ASGIApp) -> str:
        server = ServerThread(app).__enter__()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.__exit__()


@pytest.fixture(scope="session")
def kiosk() -> KioskKey:
    """The test kiosk's credential: a fresh random key per session (no key lives in the repository)."""
    return KioskKey("VTM-TEST-01", secrets.token_bytes(32))


@pytest.fixture
def bank_api(kiosk: KioskKey) -> Callable[[CoreBanking], FastAPI]:
    """Build the core bank's HTTP API over a bank, admitting the test kiosk."""
    return lambda bank: create_app(bank, kiosks=KioskKeyTable([kiosk]))


@pytest.fixture
def signed_http(kiosk: KioskKey) -> Iterator[Callable[[str], httpx.Client]]:
    """A raw httpx client (for probing the API itself) that signs as the test kiosk."""
    clients: list[httpx.Client] = []

    def make(base_url: str) -> httpx.Client:
        client = httpx.Client(base_url=base_url, auth=RequestSigner(kiosk), timeout=10.0)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def http_timeout() -> httpx.Timeout:
    return httpx.Timeout(10.0, connect=2.0)


@pytest.fixture(params=["sandbox-sqlite", "http-sqlite",
                        pytest.param("sandbox-postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest) -> BankWorld:
    name: str = request.param
    fixture = "postgres_world" if name.endswith("postgres") else "sqlite_world"
    world: BankWorld = request.getfixturevalue(fixture)
    return world


@pytest.fixture
def core(request: pytest.FixtureRequest, world: BankWorld, http_timeout: httpx.Timeout,
         kiosk: KioskKey) -> Iterator[CoreBanking]:
    """The implementation under test, over ``world``'s bank."""
    if request.node.callspec.params["world"].startswith("http"):
        url = request.getfixturevalue("start_server")(create_app(world.sandbox, kiosks=KioskKeyTable([kiosk])))
        with HttpCoreBanking(url, timeout=http_timeout, retries=2, backoff_s=0.01, credential=kiosk) as client:
            yield client
    else:
        yield world.sandbox

"""Fixtures: a small, fully known sandbox bank on a real SQLite file, with an injectable clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_world import FAST, FakeClock, World, build_world
from sqlalchemy import Engine

from vtm.banking.sandbox import SandboxBank, create_bank_engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = create_bank_engine(f"sqlite:///{tmp_path / 'bank.sqlite3'}")
    yield eng
    eng.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def world(engine: Engine) -> World:
    return build_world(engine)


@pytest.fixture
def bank(engine: Engine, clock: FakeClock, world: World) -> SandboxBank:
    return SandboxBank(engine, clock=clock, policy=FAST)

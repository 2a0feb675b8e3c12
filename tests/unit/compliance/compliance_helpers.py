"""Shared fixtures: the real policy pack from compliance/, the kiosk's real e5 embedder, a context builder.

``clean_transfer`` builds a transfer context that passes every rule of the pack at every
transfer checkpoint; each test changes one thing and reads the figure it needs from the pack.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from vtm.banking.models import Arrival, CardStatus
from vtm.compliance import (
    AuthFactor,
    Confirmation,
    CoreFacts,
    Gate,
    GateContext,
    Identity,
    PolicyPack,
    SessionFacts,
    Slots,
    load_pack,
)
from vtm.compliance.pack import Rule
from vtm.compliance.semantic import TextEmbedder
from vtm.kiosk.bootstrap import nlu_embedder

REPO = Path(__file__).resolve().parents[3]
PACK_PATH = REPO / "compliance" / "policy.yaml"
NOW = datetime(2025, 6, 2, 10, 0, 0, tzinfo=UTC)
DISCLOSURE = "compliance.transfer.delayed_arrival"


@pytest.fixture(scope="session")
def pack() -> PolicyPack:
    return load_pack(PACK_PATH)


MODELS = Path(os.environ["VTM_MODELS_DIR"])  # set by tests/conftest.py: the models prepared at setup
EMBEDDING_CACHE = MODELS / "fraud-exemplars"


@pytest.fixture(scope="session")
def embedder() -> TextEmbedder:
    """The kiosk's e5 encoder as the gate gets it (loaded on first embed, once per test session)."""
    return nlu_embedder(MODELS)


def make_gate(pack: PolicyPack, embedder: TextEmbedder, **kwargs: Any) -> Gate:
    return Gate(pack, embedder=embedder, embedding_cache=EMBEDDING_CACHE, **{"clock": lambda: NOW, **kwargs})


@pytest.fixture
def gate(pack: PolicyPack, embedder: TextEmbedder) -> Gate:
    return make_gate(pack, embedder)


def rule(pack: PolicyPack, rule_id: str) -> Rule:
    return next(r for r in pack.rules if r.id == rule_id)


def figure(pack: PolicyPack, rule_id: str, name: str) -> Any:
    return getattr(rule(pack, rule_id).params, name)


def build(
    transaction: str = "transfer",
    *,
    session: dict[str, Any] | None = None,
    identity: dict[str, Any] | None = None,
    slots: dict[str, Any] | None = None,
    core: dict[str, Any] | None = None,
) -> GateContext:
    """A context that passes every rule; override any field by keyword."""
    confirmed = NOW - timedelta(seconds=20)
    base_session: dict[str, Any] = {
        "session_id": "S-TEST",
        "kiosk_id": "VTM-0001",
        "started_at": NOW - timedelta(minutes=3),
        "last_activity_at": NOW - timedelta(seconds=5),
        "now": NOW,
        "age": 40,
        "recent_utterances": ("我要给王芳转八百块",),
        "heard": {DISCLOSURE: confirmed - timedelta(seconds=10)},
    }
    base_slots: dict[str, Any] = {
        "amount": Decimal("800.00"),
        "from_account": "6222000011112222",
        "card_number": "6222000011112222",
        "payee_account": "6217000099998888",
        "payee_name": "王芳",
        "payee_bank": "中国建设银行",
        "arrival": Arrival.DELAYED,
        "purpose": "王芳的房租",  # answered when asked (FRAUD-PURPOSE-ASK); None: not asked yet
        "payee_confirmed_at": confirmed - timedelta(seconds=40),
        "arrival_chosen_at": confirmed - timedelta(seconds=30),
        "confirmed_at": confirmed,
        "confirmation": Confirmation(method="phrase", said="对", at=confirmed),
    }
    return GateContext(
        session=SessionFacts(**{**base_session, **(session or {})}),
        identity=Identity(
            **{
                "customer_id": "C-1",
                "factors": frozenset({AuthFactor.CARD, AuthFactor.PIN}),
                **(identity or {}),
            }
        ),
        transaction=transaction,
        slots=Slots(**{**base_slots, **(slots or {})}),
        core=CoreFacts(**{"card_status": CardStatus.ACTIVE, **(core or {})}),
    )


@pytest.fixture
def ctx() -> Callable[..., GateContext]:
    return build

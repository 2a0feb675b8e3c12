"""Kiosk sessions saved after every turn: a restarted service, or another replica, carries them on.

The real engine (NLU model, dialog, gate, sandbox bank, session store) behind the kiosk service's
WebSocket, through Starlette's test client. On SQLite a service is stopped and started again on
the same records database; on PostgreSQL two services ("replicas") on one database take every
other message of a customer. Each time the customer's screen must come back as it was, the
transfer must be posted once, and the session store must hold every turn once.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from vtm.audit.db import records_engine
from vtm.banking.sandbox import SandboxPolicy, create_bank_engine
from vtm.banking.sandbox.schema import TransferRow
from vtm.banking.sandbox.seed import DemoCard, seed_demo_bank
from vtm.config import Settings, load_settings
from vtm.kiosk.bootstrap import KioskServices, bootstrap
from vtm.kiosk.server import KioskService, ServiceOptions, create_app
from vtm.records.kiosk_sessions import KioskSessionTable
from vtm.records.store import SessionStore

pytestmark = pytest.mark.slow

CHEAP_PINS = SandboxPolicy(pin_hash_time_cost=1, pin_hash_memory_kib=64, pin_hash_parallelism=1)
Message = dict[str, Any]


@dataclass
class World:
    settings: Settings
    services: KioskServices
    cards: dict[str, DemoCard]


def _world(settings: Settings, services: KioskServices | None = None) -> World:
    settings.ensure_dirs()
    bank = create_bank_engine(settings.bank_db_url)
    cards = seed_demo_bank(bank, date.today(), reset=True, policy=CHEAP_PINS)
    bank.dispose()
    nlu = services.nlu if services is not None else None
    return World(settings, bootstrap(settings, nlu=nlu), {c.customer_name: c for c in cards})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return _world(load_settings(data_dir=tmp_path_factory.mktemp("persisted"),
                                models_dir=Path(os.environ["VTM_MODELS_DIR"])))


def _client(world: World, kiosk: str = "K1") -> TestClient:
    service = KioskService(world.services, ServiceOptions(kiosk_ids=(kiosk,), simulate_devices=True),
                           repository=KioskSessionTable.from_settings(world.settings))
    return TestClient(create_app(service))


def _screen(ws: Any) -> list[Message]:
    """Messages up to the end of a screen: ``read_back`` closes it, or ``session_ended`` after it when the
    session is over; a bare hello is the idle screen."""
    received: list[Message] = []
    while True:
        received.append(json.loads(ws.receive_text()))
        last, ended = received[-1], any(m["type"] == "state" and m["state"] == "ended" for m in received)
        if (last["type"] == "read_back" and not ended) or last["type"] in ("session_ended", "error") \
                or (last["type"] == "hello" and last["session_id"] is None):
            return received


def _turn(ws: Any, message: Message) -> list[Message]:
    ws.send_text(json.dumps(message))
    return _screen(ws)


def _of(messages: list[Message], kind: str) -> Message:
    return next(m for m in messages if m["type"] == kind)


def _said(messages: list[Message]) -> str:
    return " ".join(m["text"] for m in messages if m["type"] == "reply")


def _transfer(card: DemoCard, pin: str) -> list[Message]:
    return [{"type": "start", "lang": "en"},
            {"type": "device", "command": f"insert_card {card.card_number}"},
            {"type": "say", "text": "send 200 yuan to Margaret Thompson"},
            {"type": "device", "command": f"pin {pin}"},
            {"type": "say", "text": "right away please"},
            {"type": "say", "text": "I understand"},
            {"type": "button", "button": "confirm"},
            {"type": "say", "text": "yes please"}]  # a printed receipt


def _postings(settings: Settings, session_id: str) -> int:
    bank = create_bank_engine(settings.bank_db_url, create_tables=False)
    with bank.connect() as conn:
        count = conn.execute(select(func.count()).select_from(TransferRow)
                             .where(TransferRow.idempotency_key.like(f"{session_id}-%"))).scalar_one()
    bank.dispose()
    return int(count)


def _stored_turns(settings: Settings, session_id: str) -> list[int]:
    store = SessionStore.from_url(settings.records_db_url)
    turns = [t.turn_no for t in store.get_session(session_id).turns]
    store.engine.dispose()
    return turns


def test_a_restarted_service_carries_a_transfer_on_where_the_customer_was(world: World) -> None:
    john = world.cards["John Smith"]
    steps = _transfer(john, john.pin)
    with _client(world) as first, first.websocket_connect("/ws/K1") as ws:
        _screen(ws)
        opened = _turn(ws, steps[0])
        for step in steps[1:4]:
            asked = _turn(ws, step)
    session_id = _of(opened, "hello")["session_id"]
    assert _of(asked, "state")["state"] == "transfer.arrival"
    with _client(world) as second, second.websocket_connect("/ws/K1") as ws:  # the service was restarted
        redraw = _screen(ws)
        hello = _of(redraw, "hello")
        assert hello["session_id"] == session_id
        assert hello["resumed"] is True
        assert "send 200 yuan to Margaret Thompson" in [m["text"] for m in redraw if m["type"] == "caption"]
        assert _of(redraw, "state")["state"] == "transfer.arrival"
        assert _of(redraw, "state")["turn"] == 4
        assert _of(redraw, "choices")["topic"] == "arrival"
        for step in steps[4:]:
            answered = _turn(ws, step)
        assert "receipt is printed" in _said(answered)
        assert _of(answered, "device_prompt")["device"] == "take_receipt"
    with _client(world) as third, third.websocket_connect("/ws/K1") as ws:  # and again, receipt in the tray
        redraw = _screen(ws)
        assert _of(redraw, "device_prompt")["device"] == "take_receipt"
        taken = _turn(ws, {"type": "device", "command": "take_receipt"})
        assert _of(taken, "device_prompt")["device"] is None
        _turn(ws, {"type": "reset"})
    assert _postings(world.settings, session_id) == 1
    assert _stored_turns(world.settings, session_id) == list(range(1, 10))  # every turn once, none lost


def test_the_customer_who_said_goodbye_takes_the_card_from_the_same_session_after_a_restart(world: World) -> None:
    anna = world.cards["Anna Schmidt"]
    with _client(world, "K3") as first, first.websocket_connect("/ws/K3") as ws:
        _screen(ws)
        for step in ({"type": "start", "lang": "en"}, {"type": "device", "command": f"insert_card {anna.card_number}"},
                     {"type": "say", "text": "goodbye"}):
            said = _turn(ws, step)
    assert _of(said, "session_ended")["outcome"] == "cancelled"  # nothing was done
    assert _of(said, "device_prompt")["device"] == "take_card"
    with _client(world, "K3") as second, second.websocket_connect("/ws/K3") as ws:
        redraw = _screen(ws)
        assert _of(redraw, "device_prompt")["device"] == "take_card"  # the card is still in the slot
        taken = _turn(ws, {"type": "device", "command": "take_card"})
        assert [m["type"] for m in taken if m["type"] in ("hello", "error")] == []  # no new customer, no error
        assert _of(taken, "device_prompt")["device"] is None
        assert _of(taken, "session_ended")["session_id"] == _of(redraw, "hello")["session_id"]
        _turn(ws, {"type": "reset"})


def test_a_session_nobody_comes_back_to_is_ended_by_the_running_service_and_recorded(world: World) -> None:
    """A kiosk taken out of service mid-session: its saved session is ended by the service's periodic
    housekeeping once nobody has touched it for ``forget_after_s``, and the session store records the end."""
    options = ServiceOptions(kiosk_ids=("K6",), simulate_devices=True, forget_after_s=0.5, housekeeping_every_s=0.2)
    service = KioskService(world.services, options, repository=KioskSessionTable.from_settings(world.settings))
    with TestClient(create_app(service)) as client:
        with client.websocket_connect("/ws/K6") as ws:
            _screen(ws)
            session_id = _of(_turn(ws, {"type": "start", "lang": "zh"}), "hello")["session_id"]
            _turn(ws, {"type": "say", "text": "我要转账"})
        assert service.repository.session_ids() == {"K6": session_id}  # the page went away; the session is kept
        deadline = time.monotonic() + 10
        while service.repository.session_ids() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert service.repository.session_ids() == {}
    store = SessionStore.from_url(world.settings.records_db_url)
    summary = store.get_session(session_id).summary
    store.engine.dispose()
    assert summary.outcome == "cancelled"
    assert summary.ended_at is not None


def test_a_pin_change_carried_on_asks_for_the_pins_it_could_not_keep(world: World) -> None:
    zhang = world.cards["张伟"]
    start = [{"type": "start", "lang": "en"}, {"type": "device", "command": f"insert_card {zhang.card_number}"},
             {"type": "say", "text": "I'd like to change my PIN"}, {"type": "device", "command": f"pin {zhang.pin}"},
             {"type": "device", "command": "pin 370815"}]
    with _client(world, "K2") as first, first.websocket_connect("/ws/K2") as ws:
        _screen(ws)
        for step in start:
            said = _turn(ws, step)
    assert "once more" in _said(said)
    with _client(world, "K2") as second, second.websocket_connect("/ws/K2") as ws:
        redraw = _screen(ws)  # the kiosk asks again at once, before the customer types on
        asked = [m for m in redraw if m["type"] == "reply" and m["turn"] == _of(redraw, "state")["turn"]]
        assert _of(redraw, "state")["turn"] == 6  # a turn of its own, after the five before the restart
        assert "current PIN" in _said(asked)
        assert _of(redraw, "device_prompt")["device"] == "pin"
        for step in ({"type": "device", "command": f"pin {zhang.pin}"}, {"type": "device", "command": "pin 370815"},
                     {"type": "device", "command": "pin 370815"}):
            done = _turn(ws, step)
        assert "has been changed" in _said(done)
        _turn(ws, {"type": "reset"})
    assert world.services.core.card_status(zhang.card_number).failed_pin_attempts == 0


@pytest.fixture(scope="module")
def pg_world(world: World, tmp_path_factory: pytest.TempPathFactory,
             postgres_schema: Callable[[str], AbstractContextManager[str]]) -> Iterator[World]:
    """A bank and a records database on PostgreSQL (a schema of their own), the NLU model shared."""
    with postgres_schema("kiosk_replicas") as url:
        settings = load_settings(data_dir=tmp_path_factory.mktemp("replicas"),
                                 models_dir=Path(os.environ["VTM_MODELS_DIR"]), bank_database_url=url,
                                 records_database_url=url)
        yield _world(settings, world.services)


@pytest.mark.postgres
def test_two_replicas_taking_every_other_message_carry_one_session_and_post_once(pg_world: World) -> None:
    john = pg_world.cards["John Smith"]
    steps = [*_transfer(john, john.pin), {"type": "device", "command": "take_receipt"}]
    second = bootstrap(pg_world.settings, nlu=pg_world.services.nlu)  # another process, as far as state goes
    options = ServiceOptions(kiosk_ids=("K1",), simulate_devices=True)
    replicas = [TestClient(create_app(KioskService(services, options,
                                                   repository=KioskSessionTable.from_settings(pg_world.settings))))
                for services in (pg_world.services, second)]
    screens: list[list[Message]] = []
    with replicas[0] as a, replicas[1] as b:
        for number, step in enumerate(steps):
            with (a, b)[number % 2].websocket_connect("/ws/K1") as ws:
                _screen(ws)  # the screen as the other replica left it
                screens.append(_turn(ws, step))
    session_id = _of(screens[0], "hello")["session_id"]
    turns = [_of(screen, "state")["turn"] for screen in screens]
    assert "receipt is printed" in _said(screens[-2])
    assert _of(screens[-1], "device_prompt")["device"] is None  # taken from the tray the other replica filled
    assert turns == list(range(1, len(steps) + 1))  # each replica went on from the other's last turn
    assert _postings(pg_world.settings, session_id) == 1
    assert _stored_turns(pg_world.settings, session_id) == turns


@pytest.mark.postgres
def test_a_kiosk_another_replica_holds_too_long_closes_the_page_to_come_back_later(pg_world: World) -> None:
    other = KioskSessionTable(records_engine(pg_world.settings.records_db_url))
    this = KioskSessionTable(records_engine(pg_world.settings.records_db_url), lock_timeout_s=0.3)
    service = KioskService(pg_world.services, ServiceOptions(kiosk_ids=("K9",), simulate_devices=True),
                           repository=this)
    with TestClient(create_app(service)) as client:
        with other.hold("K9"):
            with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/ws/K9") as ws:
                ws.receive_text()
            assert closed.value.code == 1013  # "try again later": the page reconnects and redraws
        with client.websocket_connect("/ws/K9") as ws:  # let go: the kiosk answers again
            assert json.loads(ws.receive_text())["type"] == "hello"
    other.close()

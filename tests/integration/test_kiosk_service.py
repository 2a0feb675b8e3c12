"""The kiosk service's WebSocket protocol with the real engine (NLU, dialog, gate, sandbox bank).

Driven through Starlette's test client (the app's lifespan runs: the NLU is warmed first). The
browser itself is tested in ``tests/e2e/test_kiosk_browser.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from vtm.banking.sandbox import SandboxPolicy, create_bank_engine
from vtm.banking.sandbox.seed import DemoCard, seed_demo_bank
from vtm.config import load_settings
from vtm.kiosk.bootstrap import KioskServices, bootstrap
from vtm.kiosk.server import KioskService, ServiceOptions, create_app
from vtm.kiosk.server.locale import load_screen_locale
from vtm.kiosk.server.protocol import Lang

pytestmark = pytest.mark.slow

CHEAP_PINS = SandboxPolicy(pin_hash_time_cost=1, pin_hash_memory_kib=64, pin_hash_parallelism=1)
Message = dict[str, Any]


@dataclass
class Engine:
    services: KioskServices
    cards: dict[str, DemoCard]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    settings = load_settings(data_dir=tmp_path_factory.mktemp("kiosk-service"),
                             models_dir=Path(os.environ["VTM_MODELS_DIR"]))
    settings.ensure_dirs()
    bank = create_bank_engine(settings.bank_db_url)
    cards = seed_demo_bank(bank, date.today(), reset=True, policy=CHEAP_PINS)
    bank.dispose()
    return Engine(bootstrap(settings), {c.customer_name: c for c in cards})


def _client(engine: Engine, *, simulate: bool = True, kiosks: tuple[str, ...] = ("K1", "K2")) -> TestClient:
    service = KioskService(engine.services, ServiceOptions(kiosk_ids=kiosks, simulate_devices=simulate))
    return TestClient(create_app(service))


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with _client(engine) as test_client:
        yield test_client


def _turn(ws: Any, message: Message) -> list[Message]:
    """Send one message and collect the answer up to its screen (``read_back`` closes every turn)."""
    ws.send_text(json.dumps(message))
    received: list[Message] = []
    while True:
        received.append(json.loads(ws.receive_text()))
        if received[-1]["type"] in ("read_back", "error") or (received[-1]["type"] == "hello"
                                                              and received[-1]["session_id"] is None):
            return received


def _of(messages: list[Message], kind: str) -> Message:
    return next(m for m in messages if m["type"] == kind)


def test_healthz_reports_the_models_ready_after_warm_up(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["models"] == {"nlu": "ready"}
    assert body["kiosks"] == ["K1", "K2"]


def test_the_page_is_served_with_a_policy_that_forbids_anything_from_outside(client: TestClient) -> None:
    page = client.get("/kiosk")
    assert page.status_code == 200
    assert "/kiosk/static/js/main.js" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "connect-src 'self'" in csp
    assert "http" not in page.text.replace("http://www.w3.org", "")  # no external URL in the page
    assert client.get("/kiosk/static/kiosk.css").status_code == 200
    assert client.get("/kiosk/locale/en").json()["confirm"] == "Confirm"


def test_a_kiosk_this_process_does_not_serve_and_a_foreign_page_are_refused(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as unknown, client.websocket_connect("/ws/NOPE") as ws:
        ws.receive_text()
    assert unknown.value.code == 4404
    with pytest.raises(WebSocketDisconnect) as foreign, \
            client.websocket_connect("/ws/K1", headers={"origin": "http://evil.example"}) as ws:
        ws.receive_text()
    assert foreign.value.code == 4403


def test_a_pin_typed_on_the_pin_pad_never_comes_back_to_the_screen(client: TestClient, engine: Engine) -> None:
    john = engine.cards["John Smith"]
    with client.websocket_connect("/ws/K1") as ws:
        assert json.loads(ws.receive_text())["session_id"] is None
        _turn(ws, {"type": "start", "lang": "en"})
        _turn(ws, {"type": "device", "command": f"insert_card {john.card_number}"})
        asked = _turn(ws, {"type": "say", "text": "check my balance"})
        assert _of(asked, "device_prompt")["device"] == "pin"
        assert _of(asked, "keypad")["kind"] is None
        spoken = _turn(ws, {"type": "say", "text": f"my pin is {john.pin}"})  # said aloud by mistake
        answered = _turn(ws, {"type": "device", "command": f"pin {john.pin}"})
    everything = json.dumps(asked + spoken + answered, ensure_ascii=False)
    assert john.pin not in everything
    assert _of(spoken, "caption")["text"] == "******"
    assert "balance" in " ".join(m["text"] for m in answered if m["type"] == "reply")


def test_a_spoken_pin_never_reaches_the_intent_model_and_other_words_are_read_once(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service reads typed words before the kiosk's turn (vtm.kiosk.server.service): never
    anything that could be a PIN, and the turn then finds the model's answer remembered."""
    john = engine.cards["John Smith"]
    nlu = engine.services.nlu
    classifier = nlu.classifier  # type: ignore[attr-defined]  # the real NluParser of bootstrap
    read: list[str] = []
    original = classifier.predict_many

    def spy(texts: list[str]) -> Any:
        read.extend(texts)
        return original(texts)

    monkeypatch.setattr(classifier, "predict_many", spy)
    with _client(engine) as client, client.websocket_connect("/ws/K2") as ws:
        ws.receive_text()
        _turn(ws, {"type": "start", "lang": "en"})
        _turn(ws, {"type": "device", "command": f"insert_card {john.card_number}"})
        sentence = "could you show me how much money is on this card please"
        _turn(ws, {"type": "say", "text": sentence})
        _turn(ws, {"type": "say", "text": f"my pin is {john.pin}"})
    assert not any(john.pin in text for text in read)
    assert sum(sentence in text for text in read) == 1  # early, then remembered for the turn


def test_a_screen_left_silent_in_a_session_is_reminded_then_offered_a_person(engine: Engine) -> None:
    """Nobody answers at the screen (the customer walked away): the dialog's silence repair speaks up
    after ``screen_silence_seconds``, twice, then offers a person."""
    import dataclasses
    from concurrent.futures import ThreadPoolExecutor

    quick = dataclasses.replace(engine.services, screen_silence_s=0.3)
    service = KioskService(quick, ServiceOptions(kiosk_ids=("K1",), simulate_devices=True))
    john = engine.cards["John Smith"]
    with TestClient(create_app(service)) as client, client.websocket_connect("/ws/K1") as ws, \
            ThreadPoolExecutor(max_workers=1) as reader:

        def next_reply_keys() -> list[str]:
            keys: list[str] = []
            while not any(k.startswith("repair.silence") for k in keys):
                message = json.loads(reader.submit(ws.receive_text).result(timeout=20))
                keys += [message["key"]] if message["type"] == "reply" else []
            return keys

        assert json.loads(ws.receive_text())["session_id"] is None
        _turn(ws, {"type": "start", "lang": "en"})
        _turn(ws, {"type": "device", "command": f"insert_card {john.card_number}"})
        _turn(ws, {"type": "say", "text": "I want to send some money"})
        first, second, third = next_reply_keys(), next_reply_keys(), next_reply_keys()
    assert "repair.silence.1" in first
    assert "repair.silence.2" in second
    assert "repair.silence.handoff" in third


def test_two_kiosks_keep_their_own_sessions_and_a_reconnect_gets_the_same_one(client: TestClient) -> None:
    with client.websocket_connect("/ws/K1") as one, client.websocket_connect("/ws/K2") as two:
        one.receive_text()  # hello (idle)
        two.receive_text()
        first = _of(_turn(one, {"type": "start", "lang": "zh"}), "hello")["session_id"]
        second = _of(_turn(two, {"type": "start", "lang": "en"}), "hello")["session_id"]
        assert first != second
        _turn(one, {"type": "say", "text": "我要转账"})
    with client.websocket_connect("/ws/K1") as again:
        hello = json.loads(again.receive_text())
        assert (hello["session_id"], hello["resumed"], hello["lang"]) == (first, True, "zh")
        replayed: list[Message] = []
        while not replayed or replayed[-1]["type"] != "read_back":
            replayed.append(json.loads(again.receive_text()))
        assert any(m["type"] == "caption" and m["text"] == "我要转账" for m in replayed)


def test_device_commands_are_refused_without_simulated_devices(engine: Engine) -> None:
    card = engine.cards["John Smith"].card_number
    with _client(engine, simulate=False, kiosks=("K9",)) as client, client.websocket_connect("/ws/K9") as ws:
        assert json.loads(ws.receive_text())["developer"] is False
        refused = _turn(ws, {"type": "device", "command": f"insert_card {card}"})
    assert _of(refused, "error")["code"] == "developer_only"


def test_a_malformed_message_is_answered_with_an_error_and_the_session_goes_on(client: TestClient) -> None:
    with client.websocket_connect("/ws/K2") as ws:
        ws.receive_text()
        ws.send_text(json.dumps({"type": "say", "text": "x" * 501}))
        assert json.loads(ws.receive_text())["code"] == "bad_message"
        ws.send_text("not json")
        assert json.loads(ws.receive_text())["code"] == "bad_message"
        assert _of(_turn(ws, {"type": "start", "lang": "en"}), "hello")["session_id"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_touch_choice_is_understood_by_the_nlu_as_meant(engine: Engine, lang: Lang) -> None:
    """A button says words for the customer; the dialog must read them as the choice they label."""
    locale = load_screen_locale()
    nlu = engine.services.nlu
    expected_intents = {"card_loss": "report_card_lost", "transfer": "transfer_money", "statement": "request_statement",
                        "balance": "check_balance", "yes": "affirm", "no": "deny"}
    slot_of = {"loss_kind": "loss_kind", "arrival": "arrival", "delivery": "delivery"}
    for topic in ("menu", "yes_no", "loss_kind", "arrival", "delivery"):
        for choice in locale.choices(lang, topic):
            parsed = nlu.parse(choice.say, lang=lang)
            if topic in slot_of:
                values = {str(e.value) for e in parsed.slots if e.name == slot_of[topic]}
                assert values, f"{lang} {topic}: {choice.say!r} fills no {topic}"
            else:
                assert parsed.intent == expected_intents[choice.value], f"{lang}: {choice.say!r} -> {parsed.intent}"


def test_the_screens_own_buttons_are_recorded_dialog_turns(client: TestClient, engine: Engine) -> None:
    """Language, elderly mode and "call a person" are the dialog's ``screen ...`` device turns:
    numbered and recorded like any turn, the open question said again, no NLU in between."""
    john = engine.cards["John Smith"]
    with client.websocket_connect("/ws/K1") as ws:
        ws.receive_text()
        _turn(ws, {"type": "start", "lang": "en"})
        _turn(ws, {"type": "device", "command": f"insert_card {john.card_number}"})
        asked = _turn(ws, {"type": "say", "text": "I want to send some money"})
        turn = _of(asked, "state")["turn"]
        question = [m["key"] for m in asked if m["type"] == "reply"][-1]

        switched = _turn(ws, {"type": "language", "lang": "zh"})
        assert _of(switched, "state")["lang"] == "zh"
        assert _of(switched, "state")["turn"] == turn + 1
        assert [m["key"] for m in switched if m["type"] == "reply"] == ["session.language_switched", question]

        slower = _turn(ws, {"type": "elderly", "on": True})
        assert _of(slower, "state")["elderly"] is True
        assert [m["key"] for m in slower if m["type"] == "reply"] == ["session.elderly_on", question]

        person = _turn(ws, {"type": "call_person"})
        assert any(m["type"] == "reply" and m["key"].startswith("handoff") for m in person)
        assert not any(m["type"] == "caption" for m in switched + slower + person)  # nothing was "said"
        _turn(ws, {"type": "reset"})

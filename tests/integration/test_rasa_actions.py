"""The kiosk's transactions as Rasa custom actions: the real action server on localhost and the
same payloads in-process through ``rasa_sdk.executor.ActionExecutor``, each over its own freshly
seeded sandbox bank, must agree event for event and response for response.

Each conversation is a list of (action, user turn) steps; the slots the actions set are carried
into the next payload, as a Rasa server would.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from rasa_sdk.executor import ActionExecutor

from vtm.banking.models import CardStatus, Channel
from vtm.banking.sandbox import SandboxBank, create_bank_engine
from vtm.banking.sandbox.seed import seed_demo_bank
from vtm.rasa.services import reset_services

pytestmark = pytest.mark.slow  # starts an action server (about 10 s with its worker)

MODELS = os.environ.get("VTM_MODELS_DIR", "/root/.local/share/vtm/models")
ZHANG_WEI = {"auth_card_number": "6230887983054949930", "auth_factors": ["card", "pin"], "customer_id": "C0001"}
LI_NA_CARD = "6230889104492492437"
DOMAIN = {
    "version": "3.1",
    "slots": {},
    "responses": {},
    "actions": [],
    "forms": {
        "transfer_form": {"required_slots": ["payee_name", "account_number", "payee_bank", "amount", "arrival"]},
        "card_loss_form": {"required_slots": ["card_number", "loss_kind"]},
    },
}

Runner = Callable[[dict[str, Any]], dict[str, Any]]
Step = tuple[str, dict[str, Any] | None, str | None]  # action, the user's turn (intent, text, slots), active form


def _today() -> Any:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _seeded_dir(root: Path) -> Path:
    root.mkdir(parents=True)
    seed_demo_bank(create_bank_engine(f"sqlite:///{root / 'bank.sqlite3'}"), today=_today(), reset=True)
    return root


def _bank(data_dir: Path) -> SandboxBank:
    return SandboxBank(create_bank_engine(f"sqlite:///{data_dir / 'bank.sqlite3'}"))


def _payload(action: str, slots: dict[str, Any], user: dict[str, Any] | None, active_loop: str | None = None,
             requested: str | None = None) -> dict[str, Any]:
    user = user or {}
    intent = user.get("intent")
    text = user.get("text", "")
    events: list[dict[str, Any]] = [{"event": "action", "name": "action_listen"}]
    if user:
        events.append({"event": "user", "text": text, "parse_data": {"intent": {"name": intent}, "entities": []}})
    for name, value in user.get("slots", {}).items():
        events.append({"event": "slot", "name": name, "value": value})
    return {
        "next_action": action,
        "sender_id": "rasa-test-user",
        "version": "3.21.1",
        "domain": DOMAIN,
        "tracker": {
            "sender_id": "rasa-test-user",
            "slots": {**slots, **user.get("slots", {}), "requested_slot": requested},
            "latest_message": {"text": text, "intent": {"name": intent} if intent else {}, "entities": []},
            "events": events,
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": active_loop} if active_loop else {},
            "latest_action_name": "action_listen",
        },
    }


def converse(run: Runner, slots: dict[str, Any], steps: list[Step]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run the steps, carrying slot events forward; return every answer and the final slots."""
    answers = []
    slots = dict(slots)
    for action, user, loop in steps:
        requested = next(iter((user or {}).get("slots", {})), None) if loop else None
        answer = run(_payload(action, slots, user, loop, requested))
        answers.append(answer)
        slots.update((user or {}).get("slots", {}))
        for event in answer["events"]:
            if event["event"] == "slot":
                slots[event["name"]] = event["value"]
    return answers, slots


# Runners ------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runner, Path]]:
    data_dir = _seeded_dir(tmp_path_factory.mktemp("rasa-http") / "data")
    port = _free_port()
    env = {**os.environ, "VTM_DATA_DIR": str(data_dir), "VTM_MODELS_DIR": MODELS, "HF_HUB_OFFLINE": "1"}
    log = (data_dir / "action-server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "rasa_sdk", "--actions", "vtm.rasa.actions", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"action server did not start: {(data_dir / 'action-server.log').read_text()}")
            time.sleep(0.3)

        def run(payload: dict[str, Any]) -> dict[str, Any]:
            response = httpx.post(f"{url}/webhook", json=payload, timeout=30)
            assert response.status_code == 200, response.text
            return dict(response.json())

        yield run, data_dir
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runner, Path]]:
    data_dir = _seeded_dir(tmp_path_factory.mktemp("rasa-inproc") / "data")
    saved = {k: os.environ.get(k) for k in ("VTM_DATA_DIR", "VTM_MODELS_DIR")}
    os.environ.update(VTM_DATA_DIR=str(data_dir), VTM_MODELS_DIR=MODELS)
    reset_services()
    executor = ActionExecutor()
    executor.register_package("vtm.rasa.actions")
    loop = asyncio.new_event_loop()

    def run(payload: dict[str, Any]) -> dict[str, Any]:
        result = loop.run_until_complete(executor.run(json.loads(json.dumps(payload))))
        assert result is not None
        return dict(json.loads(json.dumps({"events": result.events, "responses": result.responses})))

    try:
        yield run, data_dir
    finally:
        loop.close()
        reset_services()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(params=["http", "in_process"])
def transport(request: pytest.FixtureRequest) -> tuple[Runner, Path]:
    return request.getfixturevalue("server" if request.param == "http" else "in_process")  # type: ignore[no-any-return]


def _keys(answer: dict[str, Any]) -> list[str]:
    return [m.get("response") or "" for m in answer["responses"]]


def _slot(answer: dict[str, Any], name: str) -> Any:
    return next(e["value"] for e in answer["events"] if e["event"] == "slot" and e["name"] == name)


# Conversations ----------------------------------------------------------------------------------
TRANSFER: list[Step] = [
    ("validate_transfer_form", {"intent": "inform", "text": "陈晓明", "slots": {"payee_name": "陈晓明"}},
     "transfer_form"),
    ("validate_transfer_form", {"intent": "inform", "text": "八百块", "slots": {"amount": "八百块"}}, "transfer_form"),
    ("validate_transfer_form", {"intent": "inform", "text": "普通到账", "slots": {"arrival": "普通到账"}},
     "transfer_form"),
    ("action_execute_transfer", None, None),
    ("action_execute_transfer", {"intent": "affirm", "text": "确认"}, None),
    ("action_execute_transfer", {"intent": "affirm", "text": "对"}, None),
]
CARD_LOSS: list[Step] = [
    ("validate_card_loss_form", {"intent": "inform", "text": "6230889104492492431",
                                 "slots": {"card_number": "6230889104492492431"}}, "card_loss_form"),
    ("validate_card_loss_form", {"intent": "inform", "text": LI_NA_CARD, "slots": {"card_number": LI_NA_CARD}},
     "card_loss_form"),
    ("validate_card_loss_form", {"intent": "inform", "text": "正式挂失", "slots": {"loss_kind": "正式挂失"}},
     "card_loss_form"),
    ("action_report_card_loss", None, None),
    ("action_report_card_loss", {"intent": "affirm", "text": "对"}, None),
    ("action_report_card_loss", {"intent": "deny", "text": "不用了"}, None),
]
WATCHLISTED: list[Step] = [
    ("action_execute_transfer", {"intent": "inform", "text": "转给张三", "slots": {
        "payee_name": "张三", "account_number": "6230990000000000026", "payee_bank": "ICBC", "amount": "100.00",
        "arrival": "delayed"}}, None),
]
LI_NA = {"auth_factors": ["id_card", "pin"], "customer_id": "C0002", "language": "zh"}
NEW_PAYEE_LARGE: list[Step] = [  # 刘洋 is not among 张伟's saved payees
    ("action_execute_transfer", {"intent": "inform", "text": "转一万二给刘洋", "slots": {
        "payee_name": "刘洋", "account_number": "3100100000004011", "payee_bank": "OWN", "amount": "12000.00",
        "arrival": "delayed"}}, None),
    ("action_execute_transfer", {"intent": "inform", "text": "给女儿交下学期的学费"}, None),
    ("action_execute_transfer", {"intent": "affirm", "text": "确认"}, None),
    ("action_execute_transfer", {"intent": "affirm", "text": "对"}, None),
]


def test_transfer_runs_through_gate_and_core_and_is_posted_once(transport: tuple[Runner, Path]) -> None:
    run, data_dir = transport
    answers, slots = converse(run, {**ZHANG_WEI, "language": "zh"}, TRANSFER)
    payee, amount, arrival, first, ack, confirm = answers
    # Our normalisers and the saved-payee resolution fill the form.
    assert _slot(payee, "account_number") == "6222027335126564593"
    assert _slot(payee, "payee_bank") == "中国工商银行"
    assert _slot(amount, "amount") == "800.00"
    assert _slot(arrival, "arrival") == "delayed"
    # The 24-hour disclosure must be acknowledged, then read back and confirmed: only then it posts.
    assert "utter_compliance_transfer_delayed_arrival" in _keys(first)
    assert slots["vtm_outcome"] == "transfer:completed"
    assert _keys(ack) == ["utter_transfer_confirm"]
    assert "八百元" in ack["responses"][0]["text"]
    assert _keys(confirm) == ["utter_transfer_done_delayed"]
    assert _slot(confirm, "amount") is None  # the form's slots are cleared for the next transaction
    usage = _bank(data_dir).daily_usage("C0001", Channel.KIOSK, _today())
    assert usage.transferred == Decimal("800.00")
    assert usage.transfer_count == 1


def test_a_large_transfer_to_a_new_payee_asks_its_purpose_and_judges_the_answer(transport: tuple[Runner, Path]) -> None:
    run, data_dir = transport
    before = _bank(data_dir).daily_usage("C0001", Channel.KIOSK, _today())
    answers, slots = converse(run, {**ZHANG_WEI, "language": "zh"}, NEW_PAYEE_LARGE)
    asked, answered, ack, confirm = answers
    assert "utter_compliance_fraud_ask_purpose" in _keys(asked)
    assert _slot(asked, "vtm_state")["pending"] == {"kind": "ask", "fields": ["purpose"]}
    # The answer is judged (an ordinary reason: no warning), then the disclosure and the read-back follow.
    assert "utter_compliance_transfer_delayed_arrival" in _keys(answered)
    assert "utter_compliance_fraud_warning" not in _keys(answered)
    assert _keys(ack) == ["utter_transfer_confirm"]
    assert _keys(confirm) == ["utter_transfer_done_delayed"]
    assert slots["vtm_outcome"] == "transfer:completed"
    after = _bank(data_dir).daily_usage("C0001", Channel.KIOSK, _today())
    assert after.transferred - before.transferred == Decimal("12000.00")


def test_transfer_to_a_watch_listed_account_is_refused_with_a_response(transport: tuple[Runner, Path]) -> None:
    run, data_dir = transport
    before = _bank(data_dir).daily_usage("C0004", Channel.KIOSK, _today())
    identity = {"auth_card_number": "6230885534148971133", "auth_factors": ["card", "pin"], "customer_id": "C0004",
                "language": "en"}
    [answer], slots = converse(run, identity, WATCHLISTED)
    assert slots["vtm_outcome"] == "transfer:denied"
    assert _keys(answer) == ["utter_gate_denied"]
    assert answer["responses"][0]["text"].startswith("Sorry, this can't be done at a self-service machine.")
    assert _bank(data_dir).daily_usage("C0004", Channel.KIOSK, _today()) == before


def test_card_loss_refuses_a_bad_card_number_then_reports_the_card(transport: tuple[Runner, Path]) -> None:
    run, data_dir = transport
    (bad, good, kind, first), slots = converse(run, LI_NA, CARD_LOSS[:4])
    assert _slot(bad, "card_number") is None
    assert _keys(bad) == ["utter_invalid_card_number_checksum"]
    assert _slot(good, "card_number") == LI_NA_CARD
    assert _slot(kind, "loss_kind") == "formal"
    assert _keys(first) == ["utter_card_loss_confirm"]
    assert _bank(data_dir).card_status(LI_NA_CARD).status is CardStatus.ACTIVE  # nothing before the customer confirms
    (confirm, decline), slots = converse(run, slots, CARD_LOSS[4:])
    assert _keys(confirm) == ["utter_card_loss_done_formal", "utter_card_loss_offer_replacement"]
    assert _bank(data_dir).card_status(LI_NA_CARD).status is CardStatus.LOST
    assert slots["vtm_outcome"] == "card_loss:completed"
    assert _keys(decline) == []


def test_card_loss_without_identity_asks_for_it_instead_of_reporting(transport: tuple[Runner, Path]) -> None:
    run, data_dir = transport
    card = "6230889731928110272"
    steps: list[Step] = [("action_report_card_loss", {"intent": "affirm", "text": "对", "slots": {
        "card_number": card, "loss_kind": "formal"}}, None)]
    answers, _ = converse(run, {"language": "en"}, [*steps, *steps])
    assert _keys(answers[1])[-1].startswith("utter_auth_")  # step-up: what the channel must verify
    assert _slot(answers[1], "vtm_outcome") == "card_loss:step_up"
    assert _bank(data_dir).card_status(card).status is CardStatus.ACTIVE


_VOLATILE = [
    (re.compile(r"(TR|LS|RV|RP)[0-9A-F]{8,}"), "<ref>"),
    (re.compile(r'"said": \[[^\]]*\]'), '"said": "<hashes of texts with references>"'),
    (re.compile(r"\d{4}-\d{2}-\d{2}T[0-9:.+]+"), "<time>"),
    (re.compile(r"\d{1,2}点\d{1,2}分|\d{1,2}:\d{2}"), "<clock>"),
    (re.compile(r'"id": "[0-9a-f]{16}"'), '"id": "<scope>"'),
]


def _normalised(answers: list[dict[str, Any]]) -> str:
    text = json.dumps(answers, ensure_ascii=False, sort_keys=True)
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text


@pytest.mark.parametrize("conversation", ["transfer", "card_loss", "watchlisted"])
def test_http_and_in_process_answers_are_identical(conversation: str, tmp_path: Path) -> None:
    # Fresh banks for both transports, so the same payloads meet the same state.
    results = []
    for name in ("http", "in_process"):
        results.append(_fresh_run(name, conversation, tmp_path / name))
    assert results[0] == results[1]


def _fresh_run(transport: str, conversation: str, root: Path) -> str:
    conversations: dict[str, tuple[dict[str, Any], list[Step]]] = {
        "transfer": ({**ZHANG_WEI, "language": "zh"}, TRANSFER), "card_loss": (LI_NA, CARD_LOSS),
                    "watchlisted": ({**ZHANG_WEI, "language": "en"}, WATCHLISTED)}
    start, steps = conversations[conversation]
    factory = _server if transport == "http" else _inproc
    with factory(root) as run:
        answers, _ = converse(run, start, steps)
    return _normalised(answers)


# Context managers around the fixtures' logic, for the comparison test's fresh banks.

@contextmanager
def _server(root: Path) -> Iterator[Runner]:
    gen = server.__wrapped__(_Factory(root))  # type: ignore[attr-defined]
    run, _ = next(gen)
    try:
        yield run
    finally:
        gen.close()


@contextmanager
def _inproc(root: Path) -> Iterator[Runner]:
    gen = in_process.__wrapped__(_Factory(root))  # type: ignore[attr-defined]
    run, _ = next(gen)
    try:
        yield run
    finally:
        gen.close()


class _Factory:
    def __init__(self, root: Path) -> None:
        self.root = root

    def mktemp(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True)
        return path

"""Each policy of a spoken turn, with a stub intent parser and the real sandbox bank, gate and prompts.

The parser is scripted (text -> intent, confidence) so each test states exactly what the classifier
heard and checks what the policy does with it; entities come from the real rule-based extractors.
Nothing here loads the intent model, so the module runs in a few seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from vtm.banking.models import Channel
from vtm.config import Settings
from vtm.devices import parse_device_command
from vtm.dialog.actions import PrintReceipt, RetainCard
from vtm.dialog.manager import DialogManager
from vtm.dialog.policies import order
from vtm.dialog.prompts import Lang
from vtm.dialog.session import Awaiting
from vtm.dialog.turn import TurnRecord
from vtm.kiosk.bootstrap import KioskServices
from vtm.kiosk.script import Script
from vtm.kiosk.testing import ConversationRunner
from vtm.knowledge import Answer, Decline
from vtm.knowledge.models import Grade
from vtm.nlu.entities import extract_entities
from vtm.nlu.types import NluResult

ROOT = Path(__file__).resolve().parents[3]
TODAY = date(2026, 11, 23)
CARD, PIN = "6230887983054949930", "955756"  # 张伟, saved payee 李娜 (docs/demo-cards.md)


@dataclass
class StubParser:
    """Intents as scripted; entities from the real extractors; every text it is given is kept."""

    intents: dict[str, tuple[str, float]] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)

    def parse(self, text: str, lang: Lang | None = None, today: date | None = None) -> NluResult:
        self.seen.append(text)
        language: Lang = lang or "zh"
        slots = list(extract_entities(text, language, today or TODAY))
        intent, confidence = self.intents.get(text, ("inform" if slots else "out_of_scope", 0.9))
        return NluResult(text=text, lang=language, intent=intent, confidence=confidence, slots=slots)


PARSER = StubParser({
    "我要挂失": ("report_card_lost", 0.99), "我要转账": ("transfer_money", 0.99), "转给李娜": ("transfer_money", 0.95),
    "取消": ("cancel", 0.98), "先挂着吧": ("cancel", 0.6), "对": ("affirm", 0.99), "等一下": ("affirm", 0.99),
    "你好": ("greeting", 0.99), "查余额": ("check_balance", 0.99), "不取消": ("cancel", 0.9),
})


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConversationRunner]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("policies"), content_dir=ROOT)
    conversation_runner = ConversationRunner(settings, nlu=PARSER)
    yield conversation_runner
    conversation_runner.close()


class Kiosk:
    def __init__(self, runner: ConversationRunner, data_dir: Path, perform: bool = True) -> None:
        script = Script.model_validate({"lang": "zh", "today": TODAY, "turns": [{"say": "你好"}]})
        services, _ = runner.services_for(script, data_dir)
        if not perform:
            services.perform_actions = None
        self.services: KioskServices = services
        self.dm = DialogManager(services, services.new_session("zh"), today=TODAY)
        self.dm.start()

    def say(self, text: str) -> TurnRecord:
        return self.dm.handle_text(text)

    def device(self, line: str) -> TurnRecord:
        command = parse_device_command(line)
        self.services.devices.apply(command)  # type: ignore[attr-defined]  # the simulated devices
        return self.dm.handle_device(command)

    def keys(self, record: TurnRecord) -> list[str]:
        return [r.key for r in record.replies]


@pytest.fixture
def kiosk(runner: ConversationRunner, tmp_path: Path) -> Kiosk:
    return Kiosk(runner, tmp_path / "k")


def test_the_turn_is_the_declared_policy_list_in_order() -> None:
    assert [p.__name__ for p in order.SPOKEN_TURN] == [
        "pin_guard", "remember_words", "slow_down", "face_instead", "pin_way", "choice_shortcut", "global_command",
        "pending_answer", "follow_up", "how_to", "start_transaction", "idle", "flow_input"]


def test_pin_guard_keeps_spoken_digits_out_of_the_transcript_and_the_parser(kiosk: Kiosk) -> None:
    kiosk.device(f"insert_card {CARD}")
    kiosk.say("查余额")
    assert kiosk.dm.session.pending is not None
    assert kiosk.dm.session.pending.awaiting is Awaiting.PIN
    record = kiosk.say("我的密码是九五五七五六")
    assert record.user == "******"
    assert "auth.enter_pin" in kiosk.keys(record)
    assert not [t for t in PARSER.seen if "九五五" in t]
    assert not [u for u in kiosk.dm.session.recent_utterances if "九五五" in u]


def test_slow_down_at_a_read_back_turns_on_elderly_mode_and_repeats_it(kiosk: Kiosk) -> None:
    kiosk.device(f"insert_card {CARD}")
    kiosk.say("我要挂失")
    kiosk.say("临时挂失")
    assert kiosk.dm.session.flow is not None
    assert kiosk.dm.session.flow.state == "confirm"
    record = kiosk.say("说慢一点")
    assert kiosk.dm.session.elderly
    assert "card_loss.confirm" in kiosk.keys(record)
    assert kiosk.dm.session.flow.state == "confirm"
    assert "unclear_answers" not in kiosk.dm.session.flow.facts


def test_choice_shortcut_takes_the_default_when_the_choice_is_left_to_the_kiosk(kiosk: Kiosk) -> None:
    kiosk.device(f"insert_card {CARD}")
    kiosk.say("我要挂失")
    record = kiosk.say("都行")
    flow = kiosk.dm.session.flow
    assert flow is not None
    assert flow.slots["loss_kind"] == "temporary"
    assert "card_loss.default_kind" in kiosk.keys(record)


def test_an_unsure_command_loses_to_an_answer_of_the_open_question(kiosk: Kiosk) -> None:
    kiosk.device(f"insert_card {CARD}")
    kiosk.say("我要挂失")
    kiosk.say("先挂着吧")  # the stub hears "cancel" at 0.6, but the words give the loss kind asked for
    flow = kiosk.dm.session.flow
    assert flow is not None
    assert flow.slots.get("loss_kind") == "temporary"
    assert kiosk.dm.session.pending is None


def test_a_sure_cancel_asks_first_and_keep_going_keeps_the_transaction(kiosk: Kiosk) -> None:
    kiosk.device(f"insert_card {CARD}")
    kiosk.say("我要挂失")
    record = kiosk.say("取消")
    assert "repair.cancel_confirm" in kiosk.keys(record)
    record = kiosk.say("不取消")
    assert "repair.cancel_kept" in kiosk.keys(record)
    assert kiosk.dm.session.flow is not None
    assert kiosk.dm.session.flow.name == "card_loss"


def test_a_request_for_another_transaction_is_a_digression_that_resumes(kiosk: Kiosk) -> None:
    kiosk.device(f"insert_card {CARD}")
    kiosk.say("我要挂失")
    kiosk.say("查余额")
    session = kiosk.dm.session
    assert session.flow is not None
    assert session.flow.name == "balance"
    assert [f.name for f in session.stack] == ["card_loss"]
    record = kiosk.device(f"pin {PIN}")
    assert "balance.done" in kiosk.keys(record)
    assert "repair.resume" in kiosk.keys(record)
    assert session.flow is not None
    assert session.flow.name == "card_loss"


def test_idle_greeting_is_answered(kiosk: Kiosk) -> None:
    assert kiosk.keys(kiosk.say("你好")) == ["session.greeting"]


def test_at_a_read_back_only_the_yes_list_confirms(kiosk: Kiosk) -> None:
    kiosk.device(f"insert_card {CARD}")
    kiosk.device(f"pin {PIN}")  # card + PIN: the gate lets the temporary report go ahead at once
    kiosk.say("我要挂失")
    kiosk.say("临时挂失")
    record = kiosk.say("等一下")  # the stub calls it affirm at 0.99: still no consent
    assert "confirm.unclear" in kiosk.keys(record)
    assert kiosk.dm.session.flow is not None
    assert kiosk.dm.session.flow.state == "confirm"
    record = kiosk.say("对")
    assert any(op["operation"] == "report_loss" for op in record.operations)


def test_device_actions_are_returned_and_performed_by_the_kiosk_not_the_dialog(runner: ConversationRunner,
                                                                               tmp_path: Path) -> None:
    quiet = Kiosk(runner, tmp_path / "quiet", perform=False)  # a channel with no devices of its own
    quiet.device(f"insert_card {CARD}")
    quiet.device(f"pin {PIN}")
    quiet.say("我要挂失")
    quiet.say("临时挂失")
    record = quiet.say("对")
    assert any(isinstance(a, RetainCard) for a in record.actions)
    assert any(isinstance(a, PrintReceipt) for a in record.actions)
    assert quiet.services.devices.card_reader.inserted() == CARD  # nothing performed it

    kiosk = Kiosk(runner, tmp_path / "kiosk")
    kiosk.device(f"insert_card {CARD}")
    kiosk.device(f"pin {PIN}")
    kiosk.say("我要挂失")
    kiosk.say("临时挂失")
    record = kiosk.say("对")
    assert kiosk.services.devices.card_reader.inserted() is None  # retained by the kiosk's performer
    assert {"retain_card", "loss_receipt"} <= {op["operation"] for op in record.operations}


@dataclass
class StubKnowledge:
    """A knowledge base that answers every question with one entry (the retrieval is tested elsewhere)."""

    entry: str = "card_loss.how_to"
    transaction: str | None = None
    asked: list[str] = field(default_factory=list)

    def ask(self, text: str, lang: str | None = None) -> Answer | Decline:
        self.asked.append(text)
        return Answer(entry_id=self.entry, score=0.9, lang="zh", spoken="插卡后说挂失就可以办理。", screen="挂失的步骤",
                      transaction=self.transaction, grade=Grade.A, candidates=())


def test_how_to_answers_in_a_sentence_and_offers_the_transaction(kiosk: Kiosk) -> None:
    kb = StubKnowledge()
    kiosk.services.knowledge = kb
    PARSER.intents["怎么挂失？"] = ("report_card_lost", 0.95)
    record = kiosk.say("怎么挂失？")
    assert kiosk.keys(record) == ["knowledge.answer", "knowledge.offer"]
    assert kiosk.dm.session.flow is None
    assert kiosk.dm.session.pending is not None
    assert kiosk.dm.session.pending.awaiting is Awaiting.OFFER_TRANSACTION
    kiosk.say("对")
    assert kiosk.dm.session.flow is not None
    assert kiosk.dm.session.flow.name == "card_loss"


def test_follow_up_after_a_statement_on_screen_prints_it(kiosk: Kiosk) -> None:
    PARSER.intents["看一下最近一个月的流水"] = ("request_statement", 0.95)
    kiosk.device(f"insert_card {CARD}")
    kiosk.device(f"pin {PIN}")
    kiosk.say("看一下最近一个月的流水")
    kiosk.say("在屏幕上显示")
    assert kiosk.dm.session.transactions_done == ["statement"]
    record = kiosk.say("打印出来吧")
    assert "repair.follow_up" in kiosk.keys(record)
    assert kiosk.dm.session.transactions_done == ["statement", "statement"]
    assert "print_statement" in {op["operation"] for op in record.operations}


def test_face_instead_answers_a_pin_request_that_offered_it(kiosk: Kiosk) -> None:
    PARSER.intents["我的卡丢了"] = ("report_card_lost", 0.99)
    PARSER.intents["密码忘了，能刷脸吗"] = ("out_of_scope", 0.7)
    kiosk.say("我的卡丢了")
    kiosk.device("scan_id 350102196904045478")  # a customer with one card (docs/demo-cards.md)
    kiosk.say("正式挂失")
    kiosk.say("对")
    pending = kiosk.dm.session.pending
    assert pending is not None
    assert pending.detail.get("face_alternative")  # the gate offers the face instead of the PIN
    record = kiosk.say("密码忘了，能刷脸吗")
    assert "auth.face_consent" in kiosk.keys(record)
    assert kiosk.dm.session.pending is not None
    assert kiosk.dm.session.pending.awaiting is Awaiting.FACE_CONSENT


def test_a_pin_changed_through_the_dialog_is_the_pin_the_core_checks(kiosk: Kiosk) -> None:
    from vtm.banking.errors import AuthenticationFailed

    PARSER.intents["我要改密码"] = ("change_pin", 0.99)
    kiosk.device(f"insert_card {CARD}")
    kiosk.say("我要改密码")
    for pin in (PIN, "604172", "604172"):
        record = kiosk.device(f"pin {pin}")
    assert "change_pin.done" in kiosk.keys(record)
    assert "604172" not in str(record.to_json())  # never in the turn record
    core = kiosk.services.core
    assert core.authenticate_card(CARD, "604172").card_number == CARD
    with pytest.raises(AuthenticationFailed):
        core.authenticate_card(CARD, PIN)


def test_a_transfer_turn_played_again_from_the_saved_session_gets_the_same_transfer(kiosk: Kiosk) -> None:
    """A replica dies after the core posted but before the session was saved: the next one plays the
    customer's last turn again from the saved session. The transfer counts once against the daily
    limit (30,000 + 30,000 would pass 50,000) and the customer hears it done, with one posting."""
    import dataclasses
    import json

    from vtm.dialog.plugins import all_guards
    from vtm.dialog.snapshot import from_snapshot, to_snapshot

    PARSER.intents["转给李娜三万"] = ("transfer_money", 0.97)
    kiosk.device(f"insert_card {CARD}")
    kiosk.say("转给李娜三万")
    kiosk.device(f"pin {PIN}")
    kiosk.say("普通到账")
    kiosk.say("知道了")
    saved = json.loads(json.dumps(to_snapshot(kiosk.dm.session)))
    last = "对"
    first = kiosk.say(last)
    while not any(k.startswith("transfer.done") for k in kiosk.keys(first)) and kiosk.dm.session.pending is not None:
        saved = json.loads(json.dumps(to_snapshot(kiosk.dm.session)))  # the step before the posting one
        last = f"pin {PIN}"
        first = kiosk.device(last)
    assert any(k.startswith("transfer.done") for k in kiosk.keys(first))
    other_replica = dataclasses.replace(kiosk.services, recorder=None)  # its records are another test's subject
    again = DialogManager(other_replica, from_snapshot(saved, kiosk.services.definitions, all_guards()), today=TODAY)
    if last.startswith("pin"):
        command = parse_device_command(last)
        kiosk.services.devices.apply(command)  # type: ignore[attr-defined]  # the simulated PIN pad
        replayed = again.handle_device(command)
    else:
        replayed = again.handle_text(last)
    replayed_keys = [r.key for r in replayed.replies]
    assert any(k.startswith("transfer.done") for k in replayed_keys), replayed_keys
    done = [op for op in first.operations if op["operation"] == "transfer"]
    redone = [op for op in replayed.operations if op["operation"] == "transfer"]
    assert done
    assert redone
    assert done[0]["key"] == redone[0]["key"]
    customer = kiosk.dm.session.customer_id
    assert customer is not None
    assert kiosk.services.core.daily_usage(customer, Channel.KIOSK, TODAY).transfer_count == 1


def test_an_answer_said_when_nothing_was_asked_starts_the_one_transaction_that_takes_it(kiosk: Kiosk) -> None:
    """"李娜，五百" heard as `inform` at the start: only the transfer takes a payee and an amount."""
    PARSER.intents["李娜 五百"] = ("inform", 0.9)
    kiosk.device(f"insert_card {CARD}")
    kiosk.say("李娜 五百")
    flow = kiosk.dm.session.flow
    assert flow is not None
    assert flow.name == "transfer"
    assert (flow.slots.get("payee_name"), str(flow.slots.get("amount"))) == ("李娜", "500")


def test_an_answer_no_single_transaction_takes_is_not_a_request(kiosk: Kiosk) -> None:
    PARSER.intents["中文"] = ("inform", 0.9)
    kiosk.device(f"insert_card {CARD}")
    record = kiosk.say("中文")  # a language named with nothing asked: no transaction takes it
    assert kiosk.dm.session.flow is None
    assert not any(k.startswith(("transfer.", "statement.", "card_loss.")) for k in kiosk.keys(record))

"""Real conversations carried on from a snapshot after every turn say exactly what they say unbroken.

Each script of ``dialogs/tests`` below runs twice on its own copy of the seeded bank, with the real
NLU model, gate and sandbox bank: once straight through, once rebuilt after *every* turn from
``to_snapshot`` -> JSON text -> ``from_snapshot`` into a new ``DialogManager`` (what a restarted
service or another replica does). The kiosk must say the same words, reach the same states and
end with the same session, turn by turn.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from vtm.config import Settings
from vtm.dialog.manager import DialogManager
from vtm.dialog.plugins import all_guards
from vtm.dialog.snapshot import from_snapshot, pins_to_ask_again, to_snapshot
from vtm.dialog.turn import TurnRecord
from vtm.kiosk.bootstrap import KioskServices
from vtm.kiosk.script import Turn, load_script
from vtm.kiosk.sim import play_turn
from vtm.kiosk.testing import DEFAULT_TODAY, ConversationRunner

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "dialogs" / "tests"
SCRIPTS = [
    "en/transfer_saved_payee_receipt_printed.yaml",       # money moves, a receipt is printed
    "en/revoke_delayed_transfer_same_session.yaml",       # delayed transfers kept in the session
    "en/gate_fraud_cue_warning_acknowledged.yaml",        # a warning heard and acknowledged
    "zh/card_loss_by_id_scan_formal_pin.yaml",            # no card: the ID card, then the PIN
    "zh/repair_digression_balance_during_transfer.yaml",  # an interrupted flow on the stack
    "zh/statement_print_last_month.yaml",                 # dates and periods in slots
    "zh/fraud/purpose_tuition_after_bare_ok.yaml",        # the gate's question, asked twice, then answered
]
CARD_9930 = "6230887983054949930"  # 张伟 (docs/demo-cards.md)
# The sandbox bank's references end in random digits (vtm.banking.sandbox._base.new_reference).
_REFERENCE = re.compile(r"(?<![0-9A-Z])(DP|PC|LS|RP|TR)[0-9]{8}[0-9A-F]{10}(?![0-9A-F])")


def _comparable(played: object) -> str:
    """The run as JSON text, each bank reference replaced by the order it first appeared in."""
    seen: dict[str, str] = {}
    text = json.dumps(played, ensure_ascii=False, sort_keys=True)
    return _REFERENCE.sub(lambda m: seen.setdefault(m.group(0), f"<ref {len(seen) + 1}>"), text)


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConversationRunner]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("snapshots"), content_dir=ROOT,
                        models_dir=Path(os.environ["VTM_MODELS_DIR"]))
    conversation_runner = ConversationRunner(settings)
    yield conversation_runner
    conversation_runner.close()


def _play(runner: ConversationRunner, script_path: Path, data_dir: Path,
          after_turn: Callable[[DialogManager, KioskServices], DialogManager] | None = None,
          ) -> list[tuple[list[tuple[str, str]], str | None, dict[str, object]]]:
    """Play a script; return per turn its replies, its state and the session's snapshot after it."""
    script = load_script(script_path)
    services, clock = runner.services_for(script, data_dir)
    services = replace(services, recorder=None)  # the records are not under test here
    today = script.today or DEFAULT_TODAY
    session = services.new_session(script.lang)
    session.session_id = "S-snapshot-test"  # the same id in both runs: the same idempotency keys
    session.elderly = script.elderly
    dm = DialogManager(services, session, today=today)
    played = [_turn(dm.start(), dm)]
    for turn in script.turns:
        if after_turn is not None:
            dm = after_turn(dm, services)
        record = play_turn(dm, services.devices, turn, clock.advance, None, script_path.parent)  # type: ignore[arg-type]
        played.append(_turn(record, dm))
    services.audit.engine.dispose()
    return played


def _turn(record: TurnRecord, dm: DialogManager) -> tuple[list[tuple[str, str]], str | None, dict[str, object]]:
    return [(r.key, r.text) for r in record.replies], record.state, to_snapshot(dm.session)


def _restored(dm: DialogManager, services: KioskServices) -> DialogManager:
    text = json.dumps(to_snapshot(dm.session), ensure_ascii=False)  # what the database holds
    session = from_snapshot(json.loads(text), services.definitions, all_guards())
    return DialogManager(services, session, today=dm.today)


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_conversation_restored_after_every_turn_says_what_it_says_unbroken(
        runner: ConversationRunner, tmp_path: Path, script: str) -> None:
    straight = _play(runner, TESTS / script, tmp_path / "straight")
    restored = _play(runner, TESTS / script, tmp_path / "restored", _restored)
    assert len(straight) == len(load_script(TESTS / script).turns) + 1
    assert any(replies for replies, _, _ in straight[1:])
    for number, (expected, got) in enumerate(zip(straight, restored, strict=True)):
        assert _comparable(got[:2]) == _comparable(expected[:2]), f"turn {number}: the kiosk says otherwise"
        assert _comparable(got[2]) == _comparable(expected[2]), f"turn {number}: the session differs"


def test_pins_typed_before_the_restore_are_not_carried_and_the_kiosk_asks_for_them_again(
        runner: ConversationRunner, tmp_path: Path) -> None:
    path = TESTS / "en" / "change_pin" / "success.yaml"  # card, current PIN, the new PIN twice
    script = load_script(path)
    services, clock = runner.services_for(script, tmp_path / "k")
    services = replace(services, recorder=None)
    dm = DialogManager(services, services.new_session("en"), today=script.today or DEFAULT_TODAY)
    dm.start()
    for turn in script.turns[:4]:  # card, "change my PIN", the current PIN, the new PIN once
        play_turn(dm, services.devices, turn, clock.advance)  # type: ignore[arg-type]
    data = to_snapshot(dm.session)
    text = json.dumps(data)
    assert "955756" not in text
    assert "370815" not in text
    assert pins_to_ask_again(data) == ["current_pin", "new_pin"]
    restored = DialogManager(services, from_snapshot(json.loads(text), services.definitions, all_guards()),
                             today=dm.today)
    assert restored.session.flow is not None
    assert restored.session.flow.state == "current"
    asked = restored.resume()  # what the kiosk service does after such a restore
    assert "current PIN" in " ".join(asked.bot)
    for line in ("pin 955756", "pin 370815", "pin 370815"):
        record = play_turn(restored, services.devices, Turn(device=line), clock.advance)  # type: ignore[arg-type]
    assert "has been changed" in " ".join(record.bot)
    assert services.core.authenticate_card(CARD_9930, "370815").customer_name == "张伟"  # the new PIN works

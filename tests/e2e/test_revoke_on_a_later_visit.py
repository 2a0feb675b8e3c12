"""A delayed transfer accepted on an earlier visit is revoked on a later one (within its 24 h window)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from vtm.banking.models import Arrival, TransferRequest, TransferStatus
from vtm.config import load_settings
from vtm.devices import SimulatedDevices
from vtm.dialog.manager import DialogManager
from vtm.kiosk.script import Script, Turn
from vtm.kiosk.sim import play_turn
from vtm.kiosk.testing import DEFAULT_TODAY, ConversationRunner

CARD, PIN, ACCOUNT = "6230887983054949930", "955756", "3100100000001017"  # 张伟, docs/demo-cards.md


@pytest.mark.slow
def test_a_transfer_from_an_earlier_visit_is_found_and_revoked(tmp_path: Path) -> None:
    runner = ConversationRunner(load_settings().model_copy(update={"data_dir": tmp_path / "data"}))
    try:
        services, clock = runner.services_for(Script(lang="zh", turns=[Turn(device="take_card")]), tmp_path / "bank")
        core = services.core
        before = core.balance(ACCOUNT).balance
        earlier = core.transfer(TransferRequest(  # yesterday's visit, as the bank recorded it
            idempotency_key="earlier-visit-0001", from_account=ACCOUNT, to_account="3100100000002015",
            payee_name="李娜", payee_bank="示例银行", amount=Decimal("1200.00"), arrival=Arrival.DELAYED))
        assert core.balance(ACCOUNT).balance == before - Decimal("1200.00")
        devices = services.devices
        assert isinstance(devices, SimulatedDevices)
        dm = DialogManager(services, services.new_session("zh"), today=DEFAULT_TODAY)
        dm.start()
        turns = [Turn(device=f"insert_card {CARD}"), Turn(say="我要撤销转账"), Turn(device=f"pin {PIN}")]
        records = [play_turn(dm, devices, turn, clock.advance) for turn in turns]
        readback = " ".join(records[-1].bot)
        assert "一千二百元" in readback  # the transfer found at the core is read back before anything moves
        assert dm.session.flow is not None
        assert dm.session.flow.state == "confirm"
        done = play_turn(dm, devices, Turn(say="对"), clock.advance)
        assert any(op["operation"] == "revoke_transfer" for op in done.operations)
        status = core.transfer_status("earlier-visit-0001")
        assert status is not None
        assert status.status is TransferStatus.REVOKED
        assert status.reference == earlier.reference
        assert core.balance(ACCOUNT).balance == before
    finally:
        runner.close()

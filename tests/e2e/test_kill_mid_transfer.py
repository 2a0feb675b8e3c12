"""Issue 5 acceptance: a kiosk killed mid-transfer never posts twice when it restarts.

``vtm sim --script`` runs a Mandarin transfer in a real subprocess against a seeded sandbox bank
in a temporary data directory. ``tests/e2e/fault_kiosk.py`` (a test-only launcher that wraps the
journal and the guarded core of the real kiosk; production code has no hook) makes the process
SIGKILL itself right after the customer's confirmation: after the journal entry is written and
either before or after the core call. Then
the kiosk is started again (a second ``vtm sim --script``): bootstrap recovery asks the core by the
journalled idempotency key and settles the entry. The bank shows exactly one posting (killed after
the core call) or none (killed before it), never two, and no journal entry is left unfinished.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from vtm.audit.db import records_engine
from vtm.banking.sandbox import SandboxBank, create_bank_engine
from vtm.banking.sandbox.seed import seed_demo_bank
from vtm.records.journal import JournalStatus, OperationJournal

pytestmark = pytest.mark.slow

TODAY = date(2026, 11, 23)
CARD, PIN = "6230887983054949930", "955756"  # 张伟, saved payee 李娜 (docs/demo-cards.md)
PAYEE_CARD = "6230889104492492437"
AMOUNT = Decimal("2000.00")
TRANSFER_SCRIPT = {
    "lang": "zh", "today": TODAY.isoformat(),
    "turns": [{"device": f"insert_card {CARD}"}, {"say": "给李娜转两千"}, {"device": f"pin {PIN}"},
              {"say": "普通到账就行"}, {"say": "好的我知道了"}, {"say": "对的"}, {"say": "不用打印"}],
}
FAULT_KIOSK = Path(__file__).with_name("fault_kiosk.py")
RESTART_SCRIPT = {"lang": "zh", "today": TODAY.isoformat(), "turns": [{"device": "silence 1"}]}


def _vtm() -> str:
    found = Path(sys.executable).parent / "vtm"
    return str(found) if found.exists() else (shutil.which("vtm") or "vtm")


def _run_sim(data_dir: Path, script: Path, kill_at: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VTM_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    env.pop("VTM_BANK_URL", None)
    command = [sys.executable, str(FAULT_KIOSK), kill_at] if kill_at else [_vtm()]
    return subprocess.run([*command, "sim", "--script", str(script), "--json"], env=env, capture_output=True,
                          text=True, timeout=600, check=False)


def _bank(data_dir: Path) -> SandboxBank:
    return SandboxBank(create_bank_engine(f"sqlite:///{data_dir / 'bank.sqlite3'}"))


def _balance(bank: SandboxBank, card: str) -> Decimal:
    return bank.balance(bank.card_status(card).account_number).balance


@pytest.fixture
def kiosk_dir(tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    engine = create_bank_engine(f"sqlite:///{data_dir / 'bank.sqlite3'}")
    seed_demo_bank(engine, today=TODAY, reset=True)
    engine.dispose()
    (tmp_path / "transfer.yaml").write_text(yaml.safe_dump(TRANSFER_SCRIPT, allow_unicode=True), encoding="utf-8")
    (tmp_path / "restart.yaml").write_text(yaml.safe_dump(RESTART_SCRIPT, allow_unicode=True), encoding="utf-8")
    return data_dir


@pytest.mark.parametrize(("kill_at", "posted"), [("before_core", False), ("after_core", True)])
def test_a_kiosk_killed_after_confirmation_never_posts_twice_after_restart(
        kiosk_dir: Path, kill_at: str, posted: bool) -> None:
    bank = _bank(kiosk_dir)
    before = _balance(bank, CARD), _balance(bank, PAYEE_CARD)

    killed = _run_sim(kiosk_dir, kiosk_dir.parent / "transfer.yaml", kill_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]

    journal = OperationJournal(records_engine(f"sqlite:///{kiosk_dir / 'records.sqlite3'}"))
    left = journal.unfinished()
    assert [(e.operation, e.status) for e in left] == [("transfer", JournalStatus.PENDING)]
    key = left[0].idempotency_key
    assert (bank.transfer_status(key) is not None) is posted

    restarted = _run_sim(kiosk_dir, kiosk_dir.parent / "restart.yaml", None)
    assert restarted.returncode == 0, restarted.stderr[-2000:]

    assert journal.unfinished() == []
    entry = journal.get(key)
    assert entry is not None
    assert entry.status == (JournalStatus.DONE if posted else JournalStatus.NOT_EXECUTED)
    moved = before[0] - _balance(bank, CARD)
    assert moved == (AMOUNT if posted else Decimal("0.00"))  # once or not at all; never 2 x AMOUNT
    assert _balance(bank, PAYEE_CARD) == before[1]  # delayed 24 h: nothing has arrived yet
    status = bank.transfer_status(key)
    assert (status is not None) is posted
    if status is not None:
        assert status.amount == AMOUNT

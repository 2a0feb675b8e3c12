"""The demo bank: invariants a reviewer checks, determinism, and the demo situations it promises."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from vtm.banking.models import CardStatus
from vtm.banking.sandbox import SandboxBank, create_bank_engine
from vtm.banking.sandbox.ledger import check_ledger
from vtm.banking.sandbox.schema import CardRow, CustomerRow, ExternalAccountRow, PostingRow
from vtm.banking.sandbox.seed import BankNotEmpty, DemoCard, seed_demo_bank
from vtm.common.checksums import gb11643_valid, luhn_valid

TODAY = date(2025, 6, 16)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, list[DemoCard]]:
    engine = create_bank_engine(f"sqlite:///{tmp_path_factory.mktemp('seed') / 'bank.sqlite3'}")
    return engine, seed_demo_bank(engine, TODAY, reset=True)


def test_at_least_twenty_customers_with_valid_ids_and_cards(seeded: tuple[Engine, list[DemoCard]]) -> None:
    engine, _ = seeded
    with Session(engine) as session:
        customers = session.scalars(select(CustomerRow)).all()
        cards = session.scalars(select(CardRow)).all()
        externals = session.scalars(select(ExternalAccountRow)).all()
    assert len(customers) >= 20
    assert all(gb11643_valid(c.id_number) for c in customers)
    assert all(luhn_valid(c.card_number) and c.card_number.startswith("62") for c in cards)
    assert all(16 <= len(c.card_number) <= 19 for c in cards)
    assert {len(c.card_number) for c in cards} == {16, 19}
    assert all(luhn_valid(e.account_number) for e in externals)
    assert len({e.bank for e in externals}) >= 3
    assert all(not c.pin_hash.isdigit() and c.pin_hash.startswith("$argon2id$") for c in cards)


def test_ledger_is_balanced_and_no_balance_is_negative(seeded: tuple[Engine, list[DemoCard]]) -> None:
    with Session(seeded[0]) as session:
        check = check_ledger(session)
    assert check.ok, check
    assert check.posting_count > 5000


def test_history_covers_thirteen_months_and_ends_yesterday(seeded: tuple[Engine, list[DemoCard]]) -> None:
    engine, cards = seeded
    bank = SandboxBank(engine)
    rows = bank.history(cards[0].account_number, TODAY - timedelta(days=400), TODAY)
    assert rows[0].booked_at.date() <= TODAY - timedelta(days=390)
    assert rows[-1].booked_at.date() < TODAY
    descriptions = " ".join(r.description for r in rows)
    for kind in ("Salary", "Electricity", "Card purchase", "Transfer"):
        assert kind in descriptions
    with Session(engine) as session:
        latest = session.scalar(select(func.max(PostingRow.booked_at)))
    assert latest is not None
    assert latest.date() < TODAY


def test_demo_situations_are_present(seeded: tuple[Engine, list[DemoCard]]) -> None:
    engine, cards = seeded
    bank = SandboxBank(engine)
    by_status = {c.status: c for c in cards}
    assert {CardStatus.TEMPORARILY_LOST, CardStatus.LOST, CardStatus.FROZEN} <= set(by_status)
    assert any(c.failed_pin_attempts == 2 for c in cards)
    assert any(c.elderly and c.customer_name.isascii() for c in cards)
    assert sum(c.language == "en" for c in cards) >= 2
    # The first card is ready to use, and its PIN works.
    first = cards[0]
    assert first.status is CardStatus.ACTIVE
    assert first.failed_pin_attempts == 0
    assert bank.authenticate_card(first.card_number, first.pin).customer_id == first.customer_id
    assert bank.saved_payees(first.customer_id)
    assert any(not p.same_bank for p in bank.saved_payees(first.customer_id))


def test_seeding_is_deterministic_and_refuses_a_non_empty_bank(
    tmp_path: Path, seeded: tuple[Engine, list[DemoCard]]
) -> None:
    engine = create_bank_engine(f"sqlite:///{tmp_path / 'again.sqlite3'}")
    again = seed_demo_bank(engine, TODAY)
    assert [(c.card_number, c.pin, c.id_number) for c in again] == [
        (c.card_number, c.pin, c.id_number) for c in seeded[1]
    ]
    first_bank, second_bank = SandboxBank(seeded[0]), SandboxBank(engine)
    account = again[0].account_number
    assert first_bank.balance(account).balance == second_bank.balance(account).balance
    with pytest.raises(BankNotEmpty):
        seed_demo_bank(engine, TODAY)
    engine.dispose()


def test_cli_seeds_shows_and_settles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vtm.cli import app

    monkeypatch.setenv("VTM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("VTM_BANK_DATABASE_URL", raising=False)
    runner = CliRunner()
    docs = tmp_path / "demo-cards.md"
    seeded = runner.invoke(app, ["bank", "seed", "--reset", "--today", "2025-06-16", "--docs", str(docs)])
    assert seeded.exit_code == 0, seeded.output
    assert "张伟" in seeded.output
    assert "| `6230" in docs.read_text(encoding="utf-8")
    shown = runner.invoke(app, ["bank", "show", "--json"])
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.stdout)
    assert len(report["customers"]) >= 20
    assert report["ledger"]["balanced"] is True
    assert all(luhn_valid(card["card_number"]) for c in report["customers"] for card in c["cards"])
    assert all(gb11643_valid(c["id_number"]) for c in report["customers"])
    assert runner.invoke(app, ["bank", "seed", "--if-empty"]).exit_code == 0
    assert runner.invoke(app, ["bank", "seed"]).exit_code == 1
    settled = runner.invoke(app, ["bank", "settle"])
    assert settled.exit_code == 0
    assert "settled 0" in settled.output
    assert runner.invoke(app, ["bank", "seed", "--today", "16/06/2025", "--reset"]).exit_code != 0

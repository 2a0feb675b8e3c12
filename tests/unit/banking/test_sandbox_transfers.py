"""Transfers of the sandbox bank: routing, delay, revocation, settlement, idempotency, usage, history."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sandbox_world import FakeClock, World
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from vtm.banking.errors import (
    CardBlocked,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidRequest,
    NotFound,
    NotRevocable,
    PayeeMismatch,
)
from vtm.banking.models import Arrival, Channel, LossKind, TransferRequest, TransferStatus
from vtm.banking.sandbox import SandboxBank
from vtm.banking.sandbox.ledger import check_ledger


def req(
    world: World,
    key: str,
    amount: str,
    *,
    to: str | None = None,
    name: str = "李娜",
    bank: str = "示例银行",
    arrival: Arrival = Arrival.DELAYED,
    from_account: str | None = None,
) -> TransferRequest:
    return TransferRequest(
        idempotency_key=key,
        from_account=from_account or world.zhang_account,
        to_account=to or world.li_account,
        payee_name=name,
        payee_bank=bank,
        amount=Decimal(amount),
        arrival=arrival,
    )


def balance(bank: SandboxBank, account: str) -> Decimal:
    return bank.balance(account).balance


def assert_ledger_sound(engine: Engine) -> None:
    with Session(engine) as session:
        check = check_ledger(session)
    assert check.ok, check


def test_own_account_transfer_posts_at_once_even_if_delayed_is_asked(
    bank: SandboxBank, world: World, engine: Engine
) -> None:
    result = bank.transfer(req(world, "own-transfer-1", "100.50", to=world.zhang_savings, name="张伟"))
    assert result.status is TransferStatus.POSTED
    assert result.execute_at is None
    assert balance(bank, world.zhang_account) == Decimal("9899.50")
    assert balance(bank, world.zhang_savings) == Decimal("600.50")
    assert_ledger_sound(engine)


def test_transfer_to_another_customer_is_delayed_24h_and_debited_at_acceptance(
    bank: SandboxBank, world: World, clock: FakeClock, engine: Engine
) -> None:
    result = bank.transfer(req(world, "delayed-0001", "1000"))
    assert result.status is TransferStatus.DELAYED
    assert result.execute_at == clock.now + timedelta(hours=24)
    assert balance(bank, world.zhang_account) == Decimal("9000.00")
    assert balance(bank, world.li_account) == Decimal("2000.00")
    assert bank.settle_due() == 0
    clock.advance(hours=24)
    assert bank.settle_due() == 1
    assert bank.settle_due() == 0
    assert balance(bank, world.li_account) == Decimal("3000.00")
    assert bank.transfer_status("delayed-0001").status is TransferStatus.POSTED
    assert_ledger_sound(engine)


def test_realtime_request_posts_at_once(bank: SandboxBank, world: World) -> None:
    result = bank.transfer(req(world, "realtime-001", "10", arrival=Arrival.REALTIME))
    assert result.status is TransferStatus.POSTED
    assert balance(bank, world.li_account) == Decimal("2010.00")


def test_payee_can_be_addressed_by_card_number(bank: SandboxBank, world: World) -> None:
    result = bank.transfer(req(world, "by-card-0001", "10", to=world.li_card, arrival=Arrival.REALTIME))
    assert result.to_account == world.li_card
    assert balance(bank, world.li_account) == Decimal("2010.00")


def test_delayed_transfer_can_be_revoked_before_execute_at_and_is_refunded(
    bank: SandboxBank, world: World, clock: FakeClock, engine: Engine
) -> None:
    result = bank.transfer(req(world, "revoke-me-01", "2500"))
    clock.advance(hours=23, minutes=59)
    revoked = bank.revoke_transfer(result.reference, "revoke-key-01")
    assert revoked.status is TransferStatus.REVOKED
    assert revoked.refunded == Decimal("2500.00")
    assert bank.revoke_transfer(result.reference, "revoke-key-01") == revoked
    assert balance(bank, world.zhang_account) == Decimal("10000.00")
    clock.advance(hours=1)
    assert bank.settle_due() == 0
    assert balance(bank, world.li_account) == Decimal("2000.00")
    with pytest.raises(NotRevocable):
        bank.revoke_transfer(result.reference, "revoke-key-02")
    assert_ledger_sound(engine)


def test_revocation_window_closes_at_execute_at(bank: SandboxBank, world: World, clock: FakeClock) -> None:
    result = bank.transfer(req(world, "too-late-001", "5"))
    clock.advance(hours=24)
    with pytest.raises(NotRevocable):
        bank.revoke_transfer(result.reference, "revoke-key-03")


def test_posted_transfer_cannot_be_revoked_and_unknown_reference_is_not_found(
    bank: SandboxBank, world: World
) -> None:
    posted = bank.transfer(req(world, "posted-0001", "5", arrival=Arrival.REALTIME))
    with pytest.raises(NotRevocable):
        bank.revoke_transfer(posted.reference, "revoke-key-04")
    with pytest.raises(NotFound):
        bank.revoke_transfer("TR20990101FFFFFFFFFF", "revoke-key-05")


def test_repeat_with_the_same_key_returns_the_first_transfer_and_moves_money_once(
    bank: SandboxBank, world: World, engine: Engine
) -> None:
    first = bank.transfer(req(world, "same-key-001", "300"))
    second = bank.transfer(req(world, "same-key-001", "300"))
    assert second == first
    assert balance(bank, world.zhang_account) == Decimal("9700.00")
    with pytest.raises(IdempotencyConflict):
        bank.transfer(req(world, "same-key-001", "301"))
    assert bank.transfer_status("same-key-001") == first
    assert bank.transfer_status("never-seen-01") is None
    assert_ledger_sound(engine)


def test_insufficient_funds_is_refused_and_records_nothing(bank: SandboxBank, world: World) -> None:
    with pytest.raises(InsufficientFunds):
        bank.transfer(req(world, "too-much-001", "10000.01"))
    assert bank.transfer_status("too-much-001") is None
    assert balance(bank, world.zhang_account) == Decimal("10000.00")
    # The whole balance can be spent, to the fen.
    assert bank.transfer(req(world, "too-much-001", "10000.00")).status is TransferStatus.DELAYED
    assert balance(bank, world.zhang_account) == Decimal("0.00")


def test_payee_name_must_match_the_holder(bank: SandboxBank, world: World) -> None:
    with pytest.raises(PayeeMismatch):
        bank.transfer(req(world, "mismatch-01", "1", name="李四"))
    # Width, case and spaces are folded.
    assert bank.transfer(req(world, "match-0001", "1", name=" 李 娜 ")).status is TransferStatus.DELAYED


def test_unknown_accounts_and_banks_are_refused(bank: SandboxBank, world: World) -> None:
    with pytest.raises(NotFound):
        bank.transfer(req(world, "no-payee-01", "1", to="3100100000099999"))
    with pytest.raises(NotFound):
        bank.transfer(req(world, "no-payer-01", "1", from_account="3100100000099999"))
    with pytest.raises(InvalidRequest):
        bank.transfer(req(world, "no-bank-001", "1", bank="火星银行"))
    with pytest.raises(InvalidRequest):
        bank.transfer(req(world, "to-self-001", "1", to=world.zhang_account, name="张伟"))
    with pytest.raises(NotFound):  # internal ledger accounts are not customers' accounts
        bank.transfer(req(world, "internal-01", "1", to="VTMB-CLEARING"))


def test_absurd_amounts_are_refused_by_the_request_model(world: World) -> None:
    for amount in ("0", "-1", "0.001", "100000000.01"):
        with pytest.raises(ValidationError):
            req(world, "absurd-0001", amount)


def test_other_bank_transfer_settles_to_the_interbank_account(
    bank: SandboxBank, world: World, clock: FakeClock, engine: Engine
) -> None:
    result = bank.transfer(
        req(world, "icbc-000001", "800", to=world.icbc_account, name=world.icbc_holder, bank="工商银行")
    )
    assert result.status is TransferStatus.DELAYED
    clock.advance(days=1)
    assert bank.settle_due() == 1
    assert bank.transfer_status("icbc-000001").status is TransferStatus.POSTED
    assert balance(bank, world.zhang_account) == Decimal("9200.00")
    assert_ledger_sound(engine)


def test_other_bank_holder_name_is_checked(bank: SandboxBank, world: World) -> None:
    with pytest.raises(PayeeMismatch):
        bank.transfer(req(world, "icbc-wrong-1", "1", to=world.icbc_account, name="张三", bank="ICBC"))


def test_unknown_account_at_other_bank_bounces(
    bank: SandboxBank, world: World, clock: FakeClock, engine: Engine
) -> None:
    realtime = bank.transfer(
        req(
            world,
            "bounce-rt-01",
            "50",
            to=world.unknown_icbc_account,
            name="某人",
            bank="ICBC",
            arrival=Arrival.REALTIME,
        )
    )
    assert realtime.status is TransferStatus.REJECTED
    assert realtime.reason == "payee_account_unknown"
    delayed = bank.transfer(
        req(world, "bounce-dl-01", "50", to=world.unknown_icbc_account, name="某人", bank="ICBC")
    )
    assert delayed.status is TransferStatus.DELAYED
    assert balance(bank, world.zhang_account) == Decimal("9950.00")
    clock.advance(days=1)
    assert bank.settle_due() == 1
    settled = bank.transfer_status("bounce-dl-01")
    assert settled is not None
    assert settled.status is TransferStatus.REJECTED
    assert balance(bank, world.zhang_account) == Decimal("10000.00")
    assert_ledger_sound(engine)


def test_payments_stop_when_the_only_card_is_reported_lost(bank: SandboxBank, world: World) -> None:
    bank.report_loss(world.zhang_card, LossKind.TEMPORARY, "loss-key-0100")
    with pytest.raises(CardBlocked):
        bank.transfer(req(world, "blocked-0001", "1"))


def test_daily_usage_counts_todays_kiosk_transfers_to_others(
    bank: SandboxBank, world: World, clock: FakeClock
) -> None:
    today = date(2025, 3, 10)
    bank.transfer(req(world, "usage-00001", "100"))
    bank.transfer(req(world, "usage-00002", "200", arrival=Arrival.REALTIME))
    bank.transfer(req(world, "usage-00003", "50", to=world.zhang_savings, name="张伟"))  # own: not counted
    revoked = bank.transfer(req(world, "usage-00004", "400"))
    bank.revoke_transfer(revoked.reference, "usage-revoke-1")
    usage = bank.daily_usage(world.zhang_id, Channel.KIOSK, today)
    assert (usage.transferred, usage.transfer_count) == (Decimal("300.00"), 2)
    assert bank.daily_usage(world.zhang_id, Channel.MOBILE, today).transfer_count == 0
    assert bank.daily_usage(world.zhang_id, Channel.KIOSK, today + timedelta(days=1)).transferred == 0
    with pytest.raises(NotFound):
        bank.daily_usage("C999", Channel.KIOSK, today)


def test_daily_usage_follows_the_bank_time_zone(bank: SandboxBank, world: World, clock: FakeClock) -> None:
    clock.now = clock.now.replace(hour=17)  # 01:00 next day in Beijing
    bank.transfer(req(world, "usage-tz-001", "100"))
    assert bank.daily_usage(world.zhang_id, Channel.KIOSK, date(2025, 3, 11)).transfer_count == 1
    assert bank.daily_usage(world.zhang_id, Channel.KIOSK, date(2025, 3, 10)).transfer_count == 0


def test_history_lists_postings_in_the_period_with_running_balances(bank: SandboxBank, world: World) -> None:
    bank.transfer(req(world, "hist-000001", "100", arrival=Arrival.REALTIME))
    bank.transfer(req(world, "hist-000002", "20.25"))
    rows = bank.history(world.zhang_account, date(2025, 3, 10), date(2025, 3, 10))
    assert [r.amount for r in rows] == [Decimal("-100.00"), Decimal("-20.25")]
    assert [r.balance_after for r in rows] == [Decimal("9900.00"), Decimal("9879.75")]
    assert rows[0].counterparty is not None
    assert world.li_account in rows[0].counterparty
    everything = bank.history(world.zhang_account, date(2024, 1, 1), date(2025, 3, 10))
    assert len(everything) == 3  # the opening deposit too
    assert bank.history(world.zhang_account, date(2025, 3, 11), date(2025, 3, 12)) == []
    with pytest.raises(InvalidRequest):
        bank.history(world.zhang_account, date(2025, 3, 10), date(2025, 3, 9))
    with pytest.raises(NotFound):
        bank.history("VTMB-CLEARING", date(2025, 3, 10), date(2025, 3, 10))


def test_accounts_balances_and_payees(bank: SandboxBank, world: World) -> None:
    accounts = bank.list_accounts(world.zhang_id)
    assert [a.account_number for a in accounts] == [world.zhang_account, world.zhang_savings]
    assert accounts[0].card_numbers == [world.zhang_card]
    assert accounts[0].balance == Decimal("10000.00")
    payees = bank.saved_payees(world.zhang_id)
    assert [(p.name, p.same_bank) for p in payees] == [("李娜", True), (world.icbc_holder, False)]
    with pytest.raises(NotFound):
        bank.balance("3100100000099999")
    with pytest.raises(NotFound):
        bank.list_accounts("C999")


def test_validate_payee_checks_existence_bank_and_name(bank: SandboxBank, world: World) -> None:
    same = bank.validate_payee(world.li_account, "李娜")
    assert (same.exists, same.name_matches, same.same_bank, same.holder_masked_name) == (
        True,
        True,
        True,
        "李*",
    )
    assert bank.validate_payee(world.li_account, "李四").name_matches is False
    own = bank.validate_payee(world.zhang_savings, "张伟", payer_account=world.zhang_account)
    assert own.own_account is True
    other = bank.validate_payee(world.icbc_account, world.icbc_holder, "中国工商银行")
    assert (other.exists, other.name_matches, other.same_bank, other.bank) == (
        True,
        True,
        False,
        "中国工商银行",
    )
    missing = bank.validate_payee(world.unknown_icbc_account, "某人", "ICBC")
    assert (missing.exists, missing.name_matches) == (False, False)
    assert bank.validate_payee(world.li_account, "李娜", "火星银行").exists is False

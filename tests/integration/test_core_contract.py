"""The CoreBanking contract: one suite, every implementation (see ``conftest.py``'s ``core`` fixture).

Each test gets a freshly seeded demo bank. Subjects (a card and its PIN, a customer with two
accounts, another customer, an account at another bank) are picked from the seed; every
operation and every check goes through the port, except moving the clock and settling due
transfers, which are the bank's own business (a background step), not the kiosk's.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from vtm.banking.errors import (
    AuthenticationFailed,
    CardBlocked,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidRequest,
    NotFound,
    NotRevocable,
    PayeeMismatch,
)
from vtm.banking.models import (
    Arrival,
    CardStatus,
    Channel,
    LossKind,
    TransferRequest,
    TransferStatus,
)
from vtm.banking.port import CoreBanking
from vtm.banking.sandbox.schema import AccountRow, CardRow, CustomerRow, ExternalAccountRow
from vtm.common.checksums import gb11643_check_char, luhn_check_digit, luhn_valid

if TYPE_CHECKING:
    from conftest import BankWorld

OTHER_BANK = "中国工商银行"


@dataclass(frozen=True)
class Party:
    customer_id: str
    name: str
    id_number: str
    card_number: str
    pin: str
    account: str
    second_account: str | None


@dataclass(frozen=True)
class Subjects:
    payer: Party  # has two accounts
    payee: Party  # another customer of this bank
    external_account: str
    external_holder: str


@pytest.fixture
def subjects(world: BankWorld) -> Subjects:
    pins = {card.card_number: card.pin for card in world.cards}
    parties: list[Party] = []
    with world.engine.connect() as conn:
        counts = dict(conn.execute(select(AccountRow.customer_id, func.count())
                                   .where(AccountRow.kind == "customer")
                                   .group_by(AccountRow.customer_id)).all())
        for card in conn.execute(select(CardRow).where(CardRow.status == "active")
                                 .order_by(CardRow.card_number)).all():
            if card.card_number not in pins:
                continue
            customer = conn.execute(select(CustomerRow)
                                    .where(CustomerRow.customer_id == card.customer_id)).one()
            accounts = [a for (a,) in conn.execute(select(AccountRow.account_number).where(
                AccountRow.customer_id == card.customer_id).order_by(AccountRow.account_number))]
            balance = conn.scalar(select(AccountRow.balance_fen).where(
                AccountRow.account_number == card.account_number))
            if balance is None or balance < 1_000_000:  # 10,000 yuan: enough for every test
                continue
            second = next((a for a in accounts if a != card.account_number), None)
            parties.append(Party(card.customer_id, customer.name, customer.id_number, card.card_number,
                                 pins[card.card_number], card.account_number,
                                 second if counts.get(card.customer_id, 0) > 1 else None))
        external = conn.execute(select(ExternalAccountRow)
                                .where(ExternalAccountRow.bank == OTHER_BANK)).first()
    payer = next(p for p in parties if p.second_account is not None)
    payee = next(p for p in parties if p.customer_id != payer.customer_id)
    assert external is not None, f"the demo bank should know accounts at {OTHER_BANK}"
    return Subjects(payer, payee, external.account_number, external.holder_name)


def _balance(core: CoreBanking, account: str) -> Decimal:
    return core.balance(account).balance


def _request(key: str, s: Subjects, amount: str, *, to: Party | None = None,
             arrival: Arrival = Arrival.DELAYED, account: str | None = None, name: str | None = None,
             bank: str = "示例银行") -> TransferRequest:
    payee = to or s.payee
    return TransferRequest(idempotency_key=key, from_account=s.payer.account,
                           to_account=account or payee.account, payee_name=name or payee.name,
                           payee_bank=bank, amount=Decimal(amount), arrival=arrival)


# Identity -----------------------------------------------------------------------------------------
def test_right_pin_authenticates_the_card_holder(core: CoreBanking, subjects: Subjects) -> None:
    result = core.authenticate_card(subjects.payer.card_number, subjects.payer.pin)
    assert result.customer_id == subjects.payer.customer_id
    assert result.customer_name == subjects.payer.name
    assert result.card_status is CardStatus.ACTIVE


def test_wrong_pins_count_down_then_lock_the_card(core: CoreBanking, subjects: Subjects) -> None:
    card, pin = subjects.payer.card_number, subjects.payer.pin
    wrong = "000000" if pin != "000000" else "111111"
    with pytest.raises(AuthenticationFailed) as first:
        core.authenticate_card(card, wrong)
    assert first.value.attempts_left == 2
    with pytest.raises(AuthenticationFailed) as second:
        core.authenticate_card(card, wrong)
    assert second.value.attempts_left == 1
    with pytest.raises(CardBlocked):
        core.authenticate_card(card, wrong)
    with pytest.raises(CardBlocked):
        core.authenticate_card(card, pin)  # even the right PIN, once locked
    info = core.card_status(card)
    assert info.pin_locked is True
    assert info.failed_pin_attempts == 3


def test_right_pin_resets_the_failed_attempts(core: CoreBanking, subjects: Subjects) -> None:
    card, pin = subjects.payer.card_number, subjects.payer.pin
    with pytest.raises(AuthenticationFailed):
        core.authenticate_card(card, "000000" if pin != "000000" else "111111")
    core.authenticate_card(card, pin)
    assert core.card_status(card).failed_pin_attempts == 0


def test_unknown_and_malformed_cards_are_told_apart(core: CoreBanking, subjects: Subjects) -> None:
    card = subjects.payer.card_number
    payload = card[:6] + ("1" if card[6] != "1" else "2") + card[7:-1]
    unknown = payload + luhn_check_digit(payload)
    with pytest.raises(NotFound):
        core.card_status(unknown)
    broken = card[:-1] + str((int(card[-1]) + 1) % 10)
    with pytest.raises(InvalidRequest):
        core.card_status(broken)


def test_identity_is_verified_with_and_without_a_face_score(core: CoreBanking, subjects: Subjects) -> None:
    id_number = subjects.payer.id_number
    assert core.verify_identity(id_number).face_matched is None
    assert core.verify_identity(id_number, 0.97).face_matched is True
    low = core.verify_identity(id_number, 0.30)
    assert low.face_matched is False
    assert low.customer_id == subjects.payer.customer_id
    stranger = "11010519491231002"
    with pytest.raises(NotFound):
        core.verify_identity(stranger + gb11643_check_char(stranger))
    with pytest.raises(InvalidRequest):
        core.verify_identity(id_number[:-1] + ("0" if id_number[-1] != "0" else "1"))


def test_customer_record_names_the_email_on_file_and_unknown_ids_are_not_found(
    core: CoreBanking, subjects: Subjects
) -> None:
    record = core.customer(subjects.payer.customer_id)
    assert record.customer_id == subjects.payer.customer_id
    assert record.id_number == subjects.payer.id_number
    assert record.email is None or "@" in record.email
    with pytest.raises(NotFound):
        core.customer("C9999")


# Cards --------------------------------------------------------------------------------------------
def test_temporary_loss_blocks_the_card_and_lapses_after_five_days(
    core: CoreBanking, world: BankWorld, subjects: Subjects
) -> None:
    card = subjects.payer.card_number
    report = core.report_loss(card, LossKind.TEMPORARY, "loss-tmp-0001")
    assert report.status is CardStatus.TEMPORARILY_LOST
    assert report.expires_at == report.accepted_at + timedelta(days=5)
    assert core.card_status(card).status is CardStatus.TEMPORARILY_LOST
    with pytest.raises(CardBlocked):
        core.authenticate_card(card, subjects.payer.pin)
    assert core.report_loss(card, LossKind.TEMPORARY, "loss-tmp-0001") == report  # repeat: first result
    world.clock.advance(timedelta(days=5, minutes=1))
    assert core.card_status(card).status is CardStatus.ACTIVE


def test_formal_loss_then_replacement_issues_a_new_card_with_the_same_pin(
    core: CoreBanking, subjects: Subjects
) -> None:
    card = subjects.payer.card_number
    with pytest.raises(InvalidRequest):
        core.order_replacement(card, "replace-too-early")  # needs a formal report first
    report = core.report_loss(card, LossKind.FORMAL, "loss-formal-0001")
    assert report.status is CardStatus.LOST
    replacement = core.order_replacement(card, "replace-0001")
    assert replacement.old_card_number == card
    assert replacement.new_card_number != card
    assert luhn_valid(replacement.new_card_number)
    assert core.order_replacement(card, "replace-0001") == replacement
    assert core.card_status(card).status is CardStatus.REPLACED
    new = core.card_status(replacement.new_card_number)
    assert new.status is CardStatus.ACTIVE
    assert new.account_number == subjects.payer.account
    again = core.authenticate_card(replacement.new_card_number, subjects.payer.pin)
    assert again.customer_id == new.customer_id
    with pytest.raises(CardBlocked):
        core.authenticate_card(card, subjects.payer.pin)
    numbers = [c.card_number for c in core.cards_of_customer(subjects.payer.customer_id)]
    assert replacement.new_card_number in numbers


def test_freeze_blocks_the_card_and_a_reused_key_must_repeat_the_same_request(
    core: CoreBanking, subjects: Subjects
) -> None:
    card = subjects.payer.card_number
    frozen = core.freeze_card(card, "freeze-0001")
    assert frozen.status is CardStatus.FROZEN
    assert core.freeze_card(card, "freeze-0001") == frozen
    with pytest.raises(CardBlocked):
        core.authenticate_card(card, subjects.payer.pin)
    with pytest.raises(IdempotencyConflict):
        core.freeze_card(subjects.payee.card_number, "freeze-0001")
    assert core.card_status(subjects.payee.card_number).status is CardStatus.ACTIVE


# Accounts -----------------------------------------------------------------------------------------
def test_accounts_and_balances_agree(core: CoreBanking, subjects: Subjects) -> None:
    accounts = core.list_accounts(subjects.payer.customer_id)
    numbers = {a.account_number for a in accounts}
    assert {subjects.payer.account, subjects.payer.second_account} <= numbers
    for account in accounts:
        balance = core.balance(account.account_number)
        assert balance.balance == account.balance
        assert balance.currency == "CNY"
    main = next(a for a in accounts if a.account_number == subjects.payer.account)
    assert subjects.payer.card_number in main.card_numbers
    with pytest.raises(NotFound):
        core.list_accounts("NO-SUCH-CUSTOMER")
    with pytest.raises(NotFound):
        core.balance("6299999999999999999")
    assert isinstance(core.saved_payees(subjects.payer.customer_id), list)


def test_payee_validation_matches_mismatches_and_unknowns(core: CoreBanking, subjects: Subjects) -> None:
    match = core.validate_payee(subjects.payee.account, subjects.payee.name)
    assert (match.exists, match.name_matches, match.same_bank) == (True, True, True)
    assert match.holder_masked_name is not None
    assert match.holder_masked_name != subjects.payee.name
    mismatch = core.validate_payee(subjects.payee.account, "张冒名")
    assert (mismatch.exists, mismatch.name_matches) == (True, False)
    unknown = core.validate_payee("6200000000000000000", subjects.payee.name)
    assert unknown.exists is False
    assert unknown.name_matches is False
    external = core.validate_payee(subjects.external_account, subjects.external_holder, OTHER_BANK)
    assert (external.exists, external.name_matches, external.same_bank) == (True, True, False)


# Transfers ----------------------------------------------------------------------------------------
def test_own_account_transfer_posts_at_once(core: CoreBanking, subjects: Subjects) -> None:
    payer = subjects.payer
    assert payer.second_account is not None
    before = (_balance(core, payer.account), _balance(core, payer.second_account))
    result = core.transfer(_request("own-0001", subjects, "250.00", to=payer, account=payer.second_account))
    assert result.status is TransferStatus.POSTED
    assert result.execute_at is None
    assert _balance(core, payer.account) == before[0] - Decimal("250.00")
    assert _balance(core, payer.second_account) == before[1] + Decimal("250.00")


def test_realtime_transfer_to_another_customer_posts_and_credits(
    core: CoreBanking, subjects: Subjects
) -> None:
    before = (_balance(core, subjects.payer.account), _balance(core, subjects.payee.account))
    result = core.transfer(_request("realtime-0001", subjects, "88.80", arrival=Arrival.REALTIME))
    assert result.status is TransferStatus.POSTED
    assert _balance(core, subjects.payer.account) == before[0] - Decimal("88.80")
    assert _balance(core, subjects.payee.account) == before[1] + Decimal("88.80")
    assert core.transfer_status("realtime-0001") == result


def test_delayed_transfer_arrives_after_24_hours_when_settled(
    core: CoreBanking, world: BankWorld, subjects: Subjects
) -> None:
    before = (_balance(core, subjects.payer.account), _balance(core, subjects.payee.account))
    result = core.transfer(_request("delay-0001", subjects, "1000.00"))
    assert result.status is TransferStatus.DELAYED
    assert result.execute_at == result.accepted_at + timedelta(hours=24)
    assert _balance(core, subjects.payer.account) == before[0] - Decimal("1000.00")
    assert _balance(core, subjects.payee.account) == before[1]
    world.clock.advance(timedelta(hours=23))
    assert world.sandbox.settle_due() == 0
    world.clock.advance(timedelta(hours=2))
    assert world.sandbox.settle_due() == 1
    settled = core.transfer_status("delay-0001")
    assert settled is not None
    assert settled.status is TransferStatus.POSTED
    assert _balance(core, subjects.payee.account) == before[1] + Decimal("1000.00")


def test_transfers_to_another_bank_debit_the_payer(core: CoreBanking, subjects: Subjects) -> None:
    before = _balance(core, subjects.payer.account)
    delayed = core.transfer(_request("ext-0001", subjects, "300.00", account=subjects.external_account,
                                     name=subjects.external_holder, bank=OTHER_BANK))
    realtime = core.transfer(_request("ext-0002", subjects, "45.60", account=subjects.external_account,
                                      name=subjects.external_holder, bank=OTHER_BANK,
                                      arrival=Arrival.REALTIME))
    assert delayed.status is TransferStatus.DELAYED
    assert realtime.status is TransferStatus.POSTED
    assert _balance(core, subjects.payer.account) == before - Decimal("345.60")


def test_repeated_transfer_returns_the_first_result_and_moves_money_once(
    core: CoreBanking, subjects: Subjects
) -> None:
    before = _balance(core, subjects.payer.account)
    request = _request("idem-0001", subjects, "66.00", arrival=Arrival.REALTIME)
    first = core.transfer(request)
    assert core.transfer(request) == first
    assert _balance(core, subjects.payer.account) == before - Decimal("66.00")
    with pytest.raises(IdempotencyConflict):
        core.transfer(_request("idem-0001", subjects, "67.00", arrival=Arrival.REALTIME))
    assert _balance(core, subjects.payer.account) == before - Decimal("66.00")


def test_insufficient_funds_and_wrong_payee_name_move_nothing(core: CoreBanking, subjects: Subjects) -> None:
    before = _balance(core, subjects.payer.account)
    too_much = str(before + Decimal("0.01"))
    with pytest.raises(InsufficientFunds):
        core.transfer(_request("poor-0001", subjects, too_much, arrival=Arrival.REALTIME))
    with pytest.raises(PayeeMismatch):
        core.transfer(_request("name-0001", subjects, "10.00", name="张冒名"))
    assert _balance(core, subjects.payer.account) == before
    assert core.transfer_status("poor-0001") is None
    assert core.transfer_status("never-seen-0001") is None


def test_delayed_transfer_is_revocable_within_its_window_only(
    core: CoreBanking, world: BankWorld, subjects: Subjects
) -> None:
    before = _balance(core, subjects.payer.account)
    first = core.transfer(_request("rev-0001", subjects, "500.00"))
    revoked = core.revoke_transfer(first.reference, "rev-key-0001")
    assert revoked.status is TransferStatus.REVOKED
    assert revoked.refunded == Decimal("500.00")
    assert core.revoke_transfer(first.reference, "rev-key-0001") == revoked
    assert _balance(core, subjects.payer.account) == before
    status = core.transfer_status("rev-0001")
    assert status is not None
    assert status.status is TransferStatus.REVOKED
    with pytest.raises(NotRevocable):
        core.revoke_transfer(first.reference, "rev-key-0002")

    late = core.transfer(_request("rev-0002", subjects, "200.00"))
    world.clock.advance(timedelta(hours=24, seconds=1))
    with pytest.raises(NotRevocable):
        core.revoke_transfer(late.reference, "rev-key-0003")
    posted = core.transfer(_request("rev-0003", subjects, "1.00", arrival=Arrival.REALTIME))
    with pytest.raises(NotRevocable):
        core.revoke_transfer(posted.reference, "rev-key-0004")
    with pytest.raises(NotFound):
        core.revoke_transfer("TR00000000NOSUCHREF", "rev-key-0005")


def test_pending_transfers_list_only_the_delayed_ones_still_revocable(
    core: CoreBanking, world: BankWorld, subjects: Subjects
) -> None:
    payer = subjects.payer.customer_id
    assert core.pending_transfers(payer) == []
    first = core.transfer(_request("pend-0001", subjects, "300.00"))
    world.clock.advance(timedelta(minutes=1))  # "oldest first" needs two acceptance times
    second = core.transfer(_request("pend-0002", subjects, "400.00"))
    core.transfer(_request("pend-0003", subjects, "5.00", arrival=Arrival.REALTIME))  # posted: not pending
    assert [t.reference for t in core.pending_transfers(payer)] == [first.reference, second.reference]
    core.revoke_transfer(first.reference, "pend-rev-0001")
    assert [t.reference for t in core.pending_transfers(payer)] == [second.reference]
    world.clock.advance(timedelta(hours=24, seconds=1))
    assert core.pending_transfers(payer) == []  # past its window: no longer revocable
    with pytest.raises(NotFound):
        core.pending_transfers("C9999")


def test_daily_usage_counts_transfers_to_others_not_own_moves(
    core: CoreBanking, world: BankWorld, subjects: Subjects
) -> None:
    day = world.clock().astimezone(world.sandbox.policy.zone).date()
    before = core.daily_usage(subjects.payer.customer_id, Channel.KIOSK, day)
    core.transfer(_request("use-0001", subjects, "100.00"))
    core.transfer(_request("use-0002", subjects, "20.50", arrival=Arrival.REALTIME))
    assert subjects.payer.second_account is not None
    core.transfer(_request("use-0003", subjects, "999.00", to=subjects.payer,
                           account=subjects.payer.second_account))
    usage = core.daily_usage(subjects.payer.customer_id, Channel.KIOSK, day)
    assert usage.transferred == before.transferred + Decimal("120.50")
    assert usage.transfer_count == before.transfer_count + 2
    assert core.daily_usage(subjects.payer.customer_id, Channel.MOBILE, day).transfer_count == 0


# Records ------------------------------------------------------------------------------------------
def test_history_lists_a_new_posting_and_the_seeded_past(
    core: CoreBanking, world: BankWorld, subjects: Subjects
) -> None:
    today = world.clock().astimezone(world.sandbox.policy.zone).date()
    result = core.transfer(_request("hist-0001", subjects, "12.34", arrival=Arrival.REALTIME))
    todays = core.history(subjects.payer.account, today, today)
    mine = [p for p in todays if p.reference == result.reference]
    assert len(mine) == 1
    assert mine[0].amount == Decimal("-12.34")
    assert mine[0].balance_after == _balance(core, subjects.payer.account)
    year = core.history(subjects.payer.account, today - timedelta(days=365), today)
    assert len(year) > 20, "the demo bank seeds a year of history"
    with pytest.raises(InvalidRequest):
        core.history(subjects.payer.account, today, today - timedelta(days=1))


def test_statement_pdf_carries_figures_that_add_up(
    core: CoreBanking, world: BankWorld, subjects: Subjects
) -> None:
    today = world.clock().astimezone(world.sandbox.policy.zone).date()
    start = today - timedelta(days=90)
    document = core.statement(subjects.payer.account, start, today)
    postings = core.history(subjects.payer.account, start, today)
    assert document.posting_count == len(postings)
    assert document.total_debit == -sum((p.amount for p in postings if p.amount < 0), Decimal(0))
    assert document.total_credit == sum((p.amount for p in postings if p.amount > 0), Decimal(0))
    assert document.closing_balance == document.opening_balance + document.total_credit - document.total_debit
    assert document.closing_balance == _balance(core, subjects.payer.account)
    assert document.pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(document.pdf))
    assert len(reader.pages) == document.pages
    assert document.verification_code in "".join(page.extract_text() for page in reader.pages)
    with pytest.raises(InvalidRequest):
        core.statement(subjects.payer.account, today, today + timedelta(days=1))


def test_periods_beyond_the_banks_cap_or_calendar_are_invalid_requests(
    core: CoreBanking, world: BankWorld, subjects: Subjects
) -> None:
    """Absurd dates are the caller's mistake (InvalidRequest), never an internal error, on every implementation."""
    today = world.clock().astimezone(world.sandbox.policy.zone).date()
    cap = world.sandbox.policy.max_period_days
    assert core.history(subjects.payer.account, today - timedelta(days=cap - 1), today) is not None
    with pytest.raises(InvalidRequest):
        core.history(subjects.payer.account, today - timedelta(days=cap), today)
    with pytest.raises(InvalidRequest):
        core.statement(subjects.payer.account, today - timedelta(days=cap), today)
    with pytest.raises(InvalidRequest):
        core.history(subjects.payer.account, date.min, date.max)
    with pytest.raises(InvalidRequest):
        core.daily_usage(subjects.payer.customer_id, Channel.KIOSK, date.max)

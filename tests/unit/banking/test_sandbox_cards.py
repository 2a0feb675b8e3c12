"""Identity and card operations of the sandbox bank, including their errors and idempotency."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sandbox_world import FAST, FakeClock, World, card_no, id_no

from vtm.banking.errors import (
    AuthenticationFailed,
    CardBlocked,
    IdempotencyConflict,
    InvalidRequest,
    NotFound,
)
from vtm.banking.models import CardStatus, LossKind
from vtm.banking.port import CoreBanking
from vtm.banking.sandbox import SandboxBank, SandboxPolicy
from vtm.common.checksums import luhn_valid


def test_sandbox_bank_satisfies_the_core_banking_protocol(bank: SandboxBank) -> None:
    assert isinstance(bank, CoreBanking)


def test_right_pin_authenticates_and_names_the_customer(bank: SandboxBank, world: World) -> None:
    result = bank.authenticate_card(world.zhang_card, world.zhang_pin)
    assert (result.customer_id, result.customer_name, result.card_status) == (
        "C001",
        "张伟",
        CardStatus.ACTIVE,
    )
    assert result.elderly is False


def test_elderly_customer_is_flagged(bank: SandboxBank, world: World) -> None:
    assert bank.authenticate_card(world.wang_card, world.wang_pin).elderly is True


def test_wrong_pins_count_down_then_lock_the_card(bank: SandboxBank, world: World) -> None:
    with pytest.raises(AuthenticationFailed) as first:
        bank.authenticate_card(world.zhang_card, "000000")
    assert first.value.attempts_left == 2
    with pytest.raises(AuthenticationFailed) as second:
        bank.authenticate_card(world.zhang_card, "000000")
    assert second.value.attempts_left == 1
    with pytest.raises(CardBlocked) as third:
        bank.authenticate_card(world.zhang_card, "000000")
    assert third.value.context["reason"] == "pin_locked"
    # Even the right PIN is refused now.
    with pytest.raises(CardBlocked) as after:
        bank.authenticate_card(world.zhang_card, world.zhang_pin)
    assert after.value.context["reason"] == "pin_locked"
    info = bank.card_status(world.zhang_card)
    assert info.pin_locked
    assert info.failed_pin_attempts == 3


def test_right_pin_resets_the_failure_count(bank: SandboxBank, world: World) -> None:
    with pytest.raises(AuthenticationFailed):
        bank.authenticate_card(world.zhang_card, "000000")
    bank.authenticate_card(world.zhang_card, world.zhang_pin)
    assert bank.card_status(world.zhang_card).failed_pin_attempts == 0


def test_lockout_threshold_follows_the_policy(engine, clock: FakeClock, world: World) -> None:
    bank = SandboxBank(engine, clock=clock, policy=FAST.model_copy(update={"pin_max_attempts": 1}))
    with pytest.raises(CardBlocked):
        bank.authenticate_card(world.li_card, "999999")


def test_malformed_inputs_are_invalid_requests_and_do_not_count(bank: SandboxBank, world: World) -> None:
    with pytest.raises(InvalidRequest):
        bank.authenticate_card(world.zhang_card, "12")
    with pytest.raises(InvalidRequest):
        bank.authenticate_card(world.zhang_card[:-1] + str((int(world.zhang_card[-1]) + 1) % 10), "123456")
    assert bank.card_status(world.zhang_card).failed_pin_attempts == 0


def test_unknown_card_is_not_found(bank: SandboxBank) -> None:
    with pytest.raises(NotFound):
        bank.authenticate_card(card_no(999), "123456")


def test_identity_is_found_by_resident_id_and_face_score_is_judged(bank: SandboxBank, world: World) -> None:
    assert bank.verify_identity(world.zhang_id_number).face_matched is None
    assert bank.verify_identity(world.zhang_id_number, 0.80).face_matched is True
    assert bank.verify_identity(world.zhang_id_number, 0.79).face_matched is False
    assert bank.verify_identity(world.zhang_id_number).customer_name == "张伟"


def test_identity_errors(bank: SandboxBank, world: World) -> None:
    with pytest.raises(InvalidRequest):
        bank.verify_identity(world.zhang_id_number[:-1] + ("1" if world.zhang_id_number[-1] != "1" else "2"))
    with pytest.raises(NotFound):
        bank.verify_identity(id_no("44030519880808003"))
    with pytest.raises(InvalidRequest):
        bank.verify_identity(world.zhang_id_number, 1.5)


def test_temporary_loss_blocks_then_lapses_after_the_policy_days(
    bank: SandboxBank, world: World, clock: FakeClock
) -> None:
    report = bank.report_loss(world.zhang_card, LossKind.TEMPORARY, "loss-key-0001")
    assert report.status is CardStatus.TEMPORARILY_LOST
    assert report.expires_at == clock.now + timedelta(days=5)
    with pytest.raises(CardBlocked) as blocked:
        bank.authenticate_card(world.zhang_card, world.zhang_pin)
    assert blocked.value.context["reason"] == "temporarily_lost"
    clock.advance(days=5, seconds=-1)
    assert bank.card_status(world.zhang_card).status is CardStatus.TEMPORARILY_LOST
    clock.advance(seconds=1)
    info = bank.card_status(world.zhang_card)
    assert info.status is CardStatus.ACTIVE
    assert info.loss_expires_at is None
    assert bank.authenticate_card(world.zhang_card, world.zhang_pin).card_status is CardStatus.ACTIVE


def test_loss_report_is_idempotent_by_key(bank: SandboxBank, world: World, clock: FakeClock) -> None:
    first = bank.report_loss(world.zhang_card, LossKind.TEMPORARY, "loss-key-0001")
    clock.advance(hours=1)
    again = bank.report_loss(world.zhang_card, LossKind.TEMPORARY, "loss-key-0001")
    assert again == first
    with pytest.raises(IdempotencyConflict):
        bank.report_loss(world.zhang_card, LossKind.FORMAL, "loss-key-0001")
    with pytest.raises(IdempotencyConflict):
        bank.freeze_card(world.zhang_card, "loss-key-0001")


def test_formal_loss_then_replacement_keeps_account_and_pin(bank: SandboxBank, world: World) -> None:
    bank.report_loss(world.zhang_card, LossKind.TEMPORARY, "loss-key-0001")
    formal = bank.report_loss(world.zhang_card, LossKind.FORMAL, "loss-key-0002")
    assert formal.status is CardStatus.LOST
    assert formal.expires_at is None
    replacement = bank.order_replacement(world.zhang_card, "repl-key-0001")
    new = replacement.new_card_number
    assert new != world.zhang_card
    assert luhn_valid(new)
    assert new[:6] == world.zhang_card[:6]
    assert len(new) == len(world.zhang_card)
    assert bank.order_replacement(world.zhang_card, "repl-key-0001") == replacement
    assert bank.card_status(world.zhang_card).status is CardStatus.REPLACED
    new_info = bank.card_status(new)
    assert new_info.status is CardStatus.ACTIVE
    assert new_info.account_number == world.zhang_account
    assert bank.authenticate_card(new, world.zhang_pin).customer_id == world.zhang_id
    with pytest.raises(CardBlocked):
        bank.authenticate_card(world.zhang_card, world.zhang_pin)
    accounts = {a.account_number: a for a in bank.list_accounts(world.zhang_id)}
    assert accounts[world.zhang_account].card_numbers == [new]


def test_replacement_needs_a_formal_report(bank: SandboxBank, world: World) -> None:
    with pytest.raises(InvalidRequest) as exc:
        bank.order_replacement(world.zhang_card, "repl-key-0001")
    assert exc.value.context["reason"] == "formal_report_required"


def test_replacement_waits_when_the_policy_says_so(engine, clock: FakeClock, world: World) -> None:
    bank = SandboxBank(engine, clock=clock, policy=FAST.model_copy(update={"replacement_wait_days": 7}))
    report = bank.report_loss(world.li_card, LossKind.FORMAL, "loss-key-0003")
    assert report.replacement_available_at == clock.now + timedelta(days=7)
    with pytest.raises(InvalidRequest):
        bank.order_replacement(world.li_card, "repl-key-0002")
    clock.advance(days=7)
    assert luhn_valid(bank.order_replacement(world.li_card, "repl-key-0003").new_card_number)


def test_a_failed_keyed_operation_records_nothing(bank: SandboxBank, world: World) -> None:
    with pytest.raises(InvalidRequest):
        bank.order_replacement(world.zhang_card, "repl-key-0001")
    bank.report_loss(world.zhang_card, LossKind.FORMAL, "loss-key-0004")
    assert bank.order_replacement(world.zhang_card, "repl-key-0001").old_card_number == world.zhang_card


def test_freeze_blocks_the_card_and_is_idempotent(bank: SandboxBank, world: World) -> None:
    frozen = bank.freeze_card(world.li_card, "freeze-key-01")
    assert frozen.status is CardStatus.FROZEN
    assert bank.freeze_card(world.li_card, "freeze-key-01") == frozen
    with pytest.raises(CardBlocked) as exc:
        bank.authenticate_card(world.li_card, world.li_pin)
    assert exc.value.context["reason"] == "frozen"
    with pytest.raises(InvalidRequest):
        bank.report_loss(world.li_card, LossKind.TEMPORARY, "loss-key-0005")
    assert bank.report_loss(world.li_card, LossKind.FORMAL, "loss-key-0006").status is CardStatus.LOST


def test_lost_card_cannot_be_frozen_or_reported_again(bank: SandboxBank, world: World) -> None:
    bank.report_loss(world.li_card, LossKind.FORMAL, "loss-key-0007")
    with pytest.raises(InvalidRequest):
        bank.freeze_card(world.li_card, "freeze-key-02")
    with pytest.raises(InvalidRequest):
        bank.report_loss(world.li_card, LossKind.TEMPORARY, "loss-key-0008")


def test_short_idempotency_key_is_refused(bank: SandboxBank, world: World) -> None:
    with pytest.raises(InvalidRequest):
        bank.freeze_card(world.li_card, "short")


def test_cards_of_customer_lists_their_cards(bank: SandboxBank, world: World) -> None:
    cards = bank.cards_of_customer(world.zhang_id)
    assert [c.card_number for c in cards] == [world.zhang_card]
    with pytest.raises(NotFound):
        bank.cards_of_customer("C999")


def test_policy_is_immutable() -> None:
    with pytest.raises(ValueError, match="frozen"):
        SandboxPolicy().pin_max_attempts = 5

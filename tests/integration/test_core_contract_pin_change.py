"""The CoreBanking contract for ``change_pin``: one suite, every implementation (``conftest.py``'s ``core``).

A sibling of ``test_core_contract.py`` (kept apart so that neither module grows past a reader's
patience). Each test gets a freshly seeded demo bank and one active card with its PIN; every
call and every check goes through the port.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pytest

from vtm.banking.errors import (
    AuthenticationFailed,
    CardBlocked,
    IdempotencyConflict,
    InvalidRequest,
    NotFound,
    WeakPin,
)
from vtm.banking.models import CardStatus, LossKind
from vtm.banking.pin_rules import PinWeakness, birth_date_forms, pin_weaknesses
from vtm.banking.port import CoreBanking
from vtm.common.checksums import luhn_check_digit

if TYPE_CHECKING:
    from conftest import BankWorld

NEW_PIN = "135790"
OTHER_PIN = "246813"


@dataclass(frozen=True)
class Holder:
    card_number: str
    pin: str
    birth_date: date


@pytest.fixture
def holder(core: CoreBanking, world: BankWorld) -> Holder:
    """An active, unlocked demo card whose PIN differs from the PINs these tests set."""
    for card in world.cards:
        info = core.card_status(card.card_number)
        if info.status is CardStatus.ACTIVE and info.failed_pin_attempts == 0 and card.pin not in (NEW_PIN, OTHER_PIN):
            born = core.authenticate_card(card.card_number, card.pin).birth_date
            assert not pin_weaknesses(NEW_PIN, born)
            assert not pin_weaknesses(OTHER_PIN, born)
            return Holder(card.card_number, card.pin, born)
    raise AssertionError("the demo bank should have an active card")


def _wrong(pin: str) -> str:
    return "000000" if pin != "000000" else "111111"


def _weak_pin(core: CoreBanking, holder: Holder, new_pin: str, key: str) -> WeakPin:
    with pytest.raises(WeakPin) as caught:
        core.change_pin(holder.card_number, holder.pin, new_pin, key)
    return caught.value


def test_changed_pin_opens_the_card_and_the_old_one_no_longer_does(core: CoreBanking, holder: Holder) -> None:
    change = core.change_pin(holder.card_number, holder.pin, NEW_PIN, "pin-change-0001")
    assert change.card_number == holder.card_number
    assert change.reference
    assert core.authenticate_card(holder.card_number, NEW_PIN).card_number == holder.card_number
    with pytest.raises(AuthenticationFailed):
        core.authenticate_card(holder.card_number, holder.pin)


def test_success_resets_the_failed_attempts(core: CoreBanking, holder: Holder) -> None:
    with pytest.raises(AuthenticationFailed):
        core.authenticate_card(holder.card_number, _wrong(holder.pin))
    core.change_pin(holder.card_number, holder.pin, NEW_PIN, "pin-change-0002")
    assert core.card_status(holder.card_number).failed_pin_attempts == 0


def test_wrong_current_pin_counts_down_then_locks_the_card(core: CoreBanking, holder: Holder) -> None:
    card, wrong = holder.card_number, _wrong(holder.pin)
    with pytest.raises(AuthenticationFailed) as first:
        core.change_pin(card, wrong, NEW_PIN, "pin-wrong-0001")
    assert first.value.attempts_left == 2
    with pytest.raises(AuthenticationFailed) as second:
        core.change_pin(card, wrong, NEW_PIN, "pin-wrong-0002")
    assert second.value.attempts_left == 1
    with pytest.raises(CardBlocked):
        core.change_pin(card, wrong, NEW_PIN, "pin-wrong-0003")
    with pytest.raises(CardBlocked):
        core.change_pin(card, holder.pin, NEW_PIN, "pin-wrong-0004")  # even the right PIN, once locked
    with pytest.raises(CardBlocked):
        core.authenticate_card(card, holder.pin)
    info = core.card_status(card)
    assert (info.pin_locked, info.failed_pin_attempts) == (True, 3)


def test_wrong_pins_in_authentication_and_in_a_change_share_one_count(core: CoreBanking, holder: Holder) -> None:
    with pytest.raises(AuthenticationFailed):
        core.authenticate_card(holder.card_number, _wrong(holder.pin))
    with pytest.raises(AuthenticationFailed) as caught:
        core.change_pin(holder.card_number, _wrong(holder.pin), NEW_PIN, "pin-shared-0001")
    assert caught.value.attempts_left == 1


def test_a_wrong_current_pin_is_counted_before_the_new_pin_is_judged(core: CoreBanking, holder: Holder) -> None:
    """A caller without the PIN learns nothing from the new PIN's judgement (not even the birth date)."""
    birthday = min(birth_date_forms(holder.birth_date))
    with pytest.raises(AuthenticationFailed):
        core.change_pin(holder.card_number, _wrong(holder.pin), birthday, "pin-order-0001")
    assert core.card_status(holder.card_number).failed_pin_attempts == 1


WeakCase = Callable[[Holder], str]
WEAK_CASES: dict[PinWeakness, WeakCase] = {
    PinWeakness.REPEATED: lambda h: "121212",
    PinWeakness.SEQUENTIAL: lambda h: "456789",
    PinWeakness.BIRTH_DATE: lambda h: f"{h.birth_date:%y%m%d}",
    PinWeakness.SAME_AS_CURRENT: lambda h: h.pin,
}


@pytest.mark.parametrize("weakness", list(WEAK_CASES))
def test_a_weak_new_pin_is_refused_naming_its_weakness_and_nothing_changes(
    core: CoreBanking, holder: Holder, weakness: PinWeakness
) -> None:
    new_pin = WEAK_CASES[weakness](holder)
    refused = _weak_pin(core, holder, new_pin, f"pin-weak-{weakness.value}")
    assert weakness.value in refused.weaknesses
    assert refused.code == "weak_pin"
    assert refused.retry_safe is True
    assert new_pin not in str(refused.to_dict())
    assert core.authenticate_card(holder.card_number, holder.pin).card_number == holder.card_number


def test_a_refused_key_can_be_used_again_with_an_acceptable_pin(core: CoreBanking, holder: Holder) -> None:
    _weak_pin(core, holder, "111111", "pin-retry-0001")
    core.change_pin(holder.card_number, holder.pin, NEW_PIN, "pin-retry-0001")
    core.authenticate_card(holder.card_number, NEW_PIN)


def test_a_repeated_key_replays_the_first_change_and_never_changes_the_pin_twice(
    core: CoreBanking, holder: Holder
) -> None:
    first = core.change_pin(holder.card_number, holder.pin, NEW_PIN, "pin-idem-0001")
    assert core.change_pin(holder.card_number, holder.pin, NEW_PIN, "pin-idem-0001") == first
    assert core.card_status(holder.card_number).failed_pin_attempts == 0  # the replay checked no PIN
    with pytest.raises(IdempotencyConflict):
        core.change_pin(holder.card_number, NEW_PIN, OTHER_PIN, "pin-idem-0001")
    core.authenticate_card(holder.card_number, NEW_PIN)


def test_a_key_used_for_another_operation_is_a_conflict(core: CoreBanking, holder: Holder) -> None:
    core.freeze_card(holder.card_number, "pin-other-op-0001")
    with pytest.raises(IdempotencyConflict):
        core.change_pin(holder.card_number, holder.pin, NEW_PIN, "pin-other-op-0001")


def test_a_blocked_card_cannot_change_its_pin(core: CoreBanking, holder: Holder) -> None:
    core.report_loss(holder.card_number, LossKind.TEMPORARY, "pin-lost-0001")
    with pytest.raises(CardBlocked):
        core.change_pin(holder.card_number, holder.pin, NEW_PIN, "pin-lost-0002")


def test_unknown_card_and_malformed_pins_are_refused(core: CoreBanking, holder: Holder) -> None:
    card = holder.card_number
    payload = card[:6] + ("1" if card[6] != "1" else "2") + card[7:-1]
    with pytest.raises(NotFound):
        core.change_pin(payload + luhn_check_digit(payload), holder.pin, NEW_PIN, "pin-unknown-0001")
    for current, new in ((holder.pin, "12345"), (holder.pin, "12345a"), ("12345", NEW_PIN)):
        with pytest.raises(InvalidRequest):
            core.change_pin(card, current, new, "pin-format-0001")
    assert core.card_status(card).failed_pin_attempts == 0

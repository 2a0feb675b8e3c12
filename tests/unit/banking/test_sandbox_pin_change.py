"""The sandbox's PIN change below the port: what it stores, and that it judges the PIN itself.

The behaviour every implementation shares is in ``tests/integration/test_core_contract_pin_change.py``.
"""

from __future__ import annotations

import pytest
from sandbox_world import World
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from vtm.banking.errors import WeakPin
from vtm.banking.sandbox import SandboxBank
from vtm.banking.sandbox._base import request_hash
from vtm.banking.sandbox.schema import CardRow, OperationRow

NEW_PIN = "135790"


def test_the_new_pin_is_stored_as_an_argon2id_hash_only(bank: SandboxBank, world: World, engine: Engine) -> None:
    bank.change_pin(world.zhang_card, world.zhang_pin, NEW_PIN, "unit-pin-0001")
    with Session(engine) as session:
        stored = session.scalar(select(CardRow.pin_hash).where(CardRow.card_number == world.zhang_card))
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert NEW_PIN not in stored


def test_the_idempotency_record_holds_no_pin_nor_a_cheap_hash_of_one(
    bank: SandboxBank, world: World, engine: Engine
) -> None:
    bank.change_pin(world.zhang_card, world.zhang_pin, NEW_PIN, "unit-pin-0002")
    with Session(engine) as session:
        row = session.get(OperationRow, "unit-pin-0002")
    assert row is not None
    assert row.operation == "change_pin"
    for pin in (world.zhang_pin, NEW_PIN):
        assert pin not in row.result_json
    plain = {"card_number": world.zhang_card, "current_pin": world.zhang_pin, "new_pin": NEW_PIN}
    assert row.request_hash != request_hash("change_pin", plain)


def test_the_sandbox_refuses_the_birth_date_on_file_whatever_the_kiosk_checked(
    bank: SandboxBank, world: World
) -> None:
    born = bank.customer(world.zhang_id).birth_date
    with pytest.raises(WeakPin) as refused:
        bank.change_pin(world.zhang_card, world.zhang_pin, f"{born:%d%m%y}", "unit-pin-0003")
    assert refused.value.weaknesses == {"birth_date"}
    assert bank.card_status(world.zhang_card).failed_pin_attempts == 0

"""The NLU value types: JSON round trips keep slot types; inconsistent entities are refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from vtm.nlu.types import DateRange, Entity, InvalidReason, NluResult


def test_result_survives_a_json_round_trip_with_typed_values() -> None:
    period = DateRange(start=date(2024, 4, 1), end=date(2024, 4, 30))
    result = NluResult(
        text="上个月转五百",
        lang="zh",
        intent="transfer_money",
        confidence=0.9,
        slots=[
            Entity(name="date_range", value=period, start=0, end=3, text="上个月"),
            Entity(name="amount", value=Decimal("500.50"), start=4, end=6, text="五百"),
            Entity(name="card_last4", value="0012", start=0, end=0, text=""),
        ],
    )
    back = NluResult.model_validate_json(result.model_dump_json())
    assert back == result
    assert back.slots[1].value == Decimal("500.50")
    assert back.slots[2].value == "0012"


def test_invalid_entity_must_say_why() -> None:
    with pytest.raises(ValidationError):
        Entity(name="amount", value=Decimal(-1), start=0, end=1, text="-", valid=False)
    with pytest.raises(ValidationError):
        Entity(name="amount", value=Decimal(1), start=0, end=1, text="1", reason=InvalidReason.ZERO)


def test_span_cannot_run_backwards() -> None:
    with pytest.raises(ValidationError):
        Entity(name="phone", value="13812345678", start=5, end=2, text="")


def test_amount_must_be_a_decimal() -> None:
    period = DateRange(start=date(2024, 1, 1), end=date(2024, 1, 2))
    with pytest.raises(ValidationError):
        Entity(name="amount", value=period, start=0, end=1, text="x")

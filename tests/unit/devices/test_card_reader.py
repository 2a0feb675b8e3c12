"""Card reader simulator: a card goes in, comes out or is kept, and every step is recorded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vtm.devices import (
    CardEventKind,
    CardReader,
    CardReaderState,
    CardSlotBusy,
    CardUnreadable,
    NoCard,
    RetainReason,
    SimulatedCardReader,
)

CARD = "6222020200001234"
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


@pytest.fixture
def reader() -> SimulatedCardReader:
    return SimulatedCardReader(clock=lambda: NOW)


def test_simulator_honours_the_driver_protocol(reader: SimulatedCardReader) -> None:
    assert isinstance(reader, CardReader)


def test_a_card_is_inserted_ejected_and_taken(reader: SimulatedCardReader) -> None:
    assert reader.state is CardReaderState.EMPTY
    assert reader.inserted() is None
    reader.insert(CARD)
    assert reader.state is CardReaderState.INSERTED
    assert reader.inserted() == CARD
    assert not reader.taken()
    reader.eject()
    assert reader.state is CardReaderState.EJECTED
    assert reader.inserted() is None
    assert not reader.taken()
    reader.take()
    assert reader.state is CardReaderState.EMPTY
    assert reader.taken()
    kinds = [e.kind for e in reader.events]
    assert kinds == [CardEventKind.INSERTED, CardEventKind.EJECTED, CardEventKind.TAKEN]
    assert all(e.at == NOW for e in reader.events)


def test_a_card_reported_lost_is_retained_and_the_slot_is_free_again(reader: SimulatedCardReader) -> None:
    reader.insert(CARD)
    reader.retain(RetainReason.REPORTED_LOST)
    assert reader.state is CardReaderState.RETAINED
    assert reader.inserted() is None
    assert not reader.taken()
    assert [c.reveal() for c in reader.retained_cards] == [CARD]
    assert reader.events[-1].kind is CardEventKind.RETAINED
    assert reader.events[-1].reason is RetainReason.REPORTED_LOST
    reader.insert("6217000011112222")
    assert reader.inserted() == "6217000011112222"


def test_an_ejected_card_left_behind_can_be_retained(reader: SimulatedCardReader) -> None:
    reader.insert(CARD)
    reader.eject()
    reader.retain(RetainReason.NOT_TAKEN)
    assert reader.state is CardReaderState.RETAINED
    with pytest.raises(NoCard):
        reader.take()


def test_impossible_actions_raise_typed_errors(reader: SimulatedCardReader) -> None:
    with pytest.raises(NoCard):
        reader.eject()
    with pytest.raises(NoCard):
        reader.retain(RetainReason.BLOCKED)
    with pytest.raises(NoCard):
        reader.take()
    reader.insert(CARD)
    with pytest.raises(CardSlotBusy):
        reader.insert(CARD)
    with pytest.raises(NoCard):
        reader.take()  # still inside: nothing to take


@pytest.mark.parametrize(
    "bad", ["1234", "62220202000012345678", "6222O20200001234", "６２２２０２０２００００１２３４"]
)
def test_an_unreadable_card_is_refused_without_showing_its_number(
    reader: SimulatedCardReader, bad: str
) -> None:
    with pytest.raises(CardUnreadable) as caught:
        reader.insert(bad)
    assert bad not in str(caught.value)
    assert reader.state is CardReaderState.EMPTY


def test_recorded_events_print_the_card_masked(reader: SimulatedCardReader) -> None:
    reader.insert(CARD)
    reader.eject()
    shown = repr(reader.events) + str(reader.events[0].card)
    assert CARD not in shown
    assert "6222 **** **** 1234" in shown

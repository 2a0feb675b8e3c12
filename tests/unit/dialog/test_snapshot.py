"""Session snapshots (vtm.dialog.snapshot): every field and typed value comes back as it was;
a PIN never goes in; unknown types and tampered type names are errors, never guesses."""

from __future__ import annotations

import functools
import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vtm.banking.models import Arrival, AuthResult, CardStatus, PayeeCheck, TransferResult, TransferStatus
from vtm.common.secret import Secret
from vtm.compliance.context import AuthFactor, Consent
from vtm.dialog.plugins import all_guards
from vtm.dialog.session import Awaiting, Pending, Session, SessionOutcome
from vtm.dialog.snapshot import SnapshotError, from_snapshot, pins_to_ask_again, to_snapshot
from vtm.dialog.transactions import transactions_of
from vtm.flows.definition import TransactionDefinition
from vtm.flows.machine import Flow

ROOT = Path(__file__).resolve().parents[3]
AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
SHANGHAI = timezone(timedelta(hours=8))


@functools.cache
def _definitions() -> dict[str, TransactionDefinition]:
    return transactions_of(ROOT)


@pytest.fixture
def definitions() -> dict[str, TransactionDefinition]:
    return _definitions()


def _session(definitions: dict[str, TransactionDefinition]) -> Session:
    """A session mid-transfer with a balance check interrupted on the stack, every field set."""
    guards = all_guards()
    transfer = Flow(definitions["transfer"], guards=guards, slots={
        "payee_name": "李娜", "account_number": "3100100000002015", "payee_bank": "示例银行",
        "amount": Decimal("500.00"), "arrival": Arrival.REALTIME})
    transfer.fire("proceed")
    transfer.facts["payee_check"] = PayeeCheck(account_number="3100100000002015", bank="示例银行", exists=True,
                                               name_matches=True, same_bank=True, own_account=False,
                                               holder_masked_name="*娜")
    transfer.facts["result"] = TransferResult(
        idempotency_key="S-1-transfer-3", reference="T-9", status=TransferStatus.POSTED, amount=Decimal("500.00"),
        from_account="3100100000001015", to_account="3100100000002015", accepted_at=AT.astimezone(SHANGHAI))
    balance = Flow(definitions["balance"], guards=guards)
    return Session(
        session_id="S-1", kiosk_id="VTM-0001", lang="zh", started_at=AT, last_activity_at=AT + timedelta(minutes=2),
        elderly=True, factors={AuthFactor.CARD, AuthFactor.PIN}, consents={Consent.FACE},
        card_number="6230887983054949930", card_status=CardStatus.ACTIVE,
        customer=AuthResult(customer_id="C-1", customer_name="张伟", card_number="6230887983054949930",
                            card_status=CardStatus.ACTIVE, elderly=False, birth_date=date(1985, 4, 12)),
        customer_id="C-1", customer_name="张伟", id_number="110101198504127691", id_photo="photo-1",
        flow=transfer, stack=[balance], pending=Pending(Awaiting.ACKNOWLEDGE, {"keys": ("warn.a", "warn.b")}),
        last_prompts=[("transfer.confirm", {"amount": Decimal("500.00"), "when": date(2026, 11, 23)})],
        no_match_count=1, silence_count=2, turn=7, recent_utterances=["我要转账", "五百"],
        heard={"warn.a": AT}, acknowledged={"warn.a"}, transactions_done=["balance"],
        finished_slots={"statement": {"period": (date(2026, 10, 1), date(2026, 10, 31))}},
        last_question="转账要手续费吗", outcome=SessionOutcome.ACTIVE,
        delayed_transfers=[{"reference": "T-8", "amount": Decimal("3000"), "execute_at": AT + timedelta(hours=24)}],
        step_counter=3)


def _through_json(session: Session, definitions: dict[str, TransactionDefinition]) -> Session:
    return from_snapshot(json.loads(json.dumps(to_snapshot(session))), definitions, all_guards())


def test_every_field_comes_back_with_its_type(definitions: dict[str, TransactionDefinition]) -> None:
    original = _session(definitions)
    back = _through_json(original, definitions)
    assert to_snapshot(back) == to_snapshot(original)
    assert back.factors == {AuthFactor.CARD, AuthFactor.PIN}
    assert back.customer == original.customer
    assert back.pending == Pending(Awaiting.ACKNOWLEDGE, {"keys": ("warn.a", "warn.b")})
    assert back.last_prompts == original.last_prompts
    assert isinstance(back.last_prompts[0], tuple)
    assert back.finished_slots["statement"]["period"] == (date(2026, 10, 1), date(2026, 10, 31))
    assert back.delayed_transfers[0]["amount"] == Decimal("3000")
    assert back.heard["warn.a"] == AT


def test_flows_come_back_at_their_state_with_slots_and_facts_and_still_run(
        definitions: dict[str, TransactionDefinition]) -> None:
    original = _session(definitions)
    back = _through_json(original, definitions)
    assert back.flow is not None
    assert original.flow is not None
    assert (back.flow.name, back.flow.state) == ("transfer", "validate_payee")
    assert back.flow.slots == original.flow.slots
    assert back.flow.slots["arrival"] is Arrival.REALTIME
    assert back.flow.facts == original.flow.facts
    result = back.flow.facts["result"]
    assert isinstance(result, TransferResult)
    assert result.accepted_at.utcoffset() == timedelta(hours=8)
    assert [(f.name, f.state) for f in back.stack] == [("balance", original.stack[0].state)]
    assert back.flow.can_fire("cancel")  # the machine is live, not a copy of its name
    assert back.flow.fire("cancel") == "cancelled"


def test_a_pin_is_never_written_and_the_restored_slot_is_empty(definitions: dict[str, TransactionDefinition]) -> None:
    session = _session(definitions)
    change = Flow(definitions["change_pin"], guards=all_guards(),
                  slots={"card_number": "6230887983054949930", "new_pin": Secret("370815")})
    change.place_at("new")
    session.flow = change
    session.pending = Pending(Awaiting.PIN, {"pin": Secret("370815"), "face_alternative": True})
    text = json.dumps(to_snapshot(session))
    assert "370815" not in text
    back = from_snapshot(json.loads(text), definitions, all_guards())
    assert back.flow is not None
    assert "new_pin" not in back.flow.slots
    assert back.flow.missing_slots() == ["new_pin", "new_pin_again"]  # the dialog asks for it again
    assert back.pending == Pending(Awaiting.PIN, {"face_alternative": True})


def test_a_flow_past_the_state_that_took_a_left_out_pin_goes_back_to_that_state(
        definitions: dict[str, TransactionDefinition]) -> None:
    session = _session(definitions)
    change = Flow(definitions["change_pin"], guards=all_guards(),
                  slots={"card_number": "6230887983054949930", "current_pin": Secret("955756")})
    change.place_at("new")  # the current PIN was checked; the execute step needs it again
    session.flow, session.stack = change, [Flow(definitions["change_pin"], guards=all_guards())]
    data = to_snapshot(session)
    assert pins_to_ask_again(data) == ["current_pin"]
    back = from_snapshot(data, definitions, all_guards())
    assert back.flow is not None
    assert back.flow.state == "current"
    assert back.flow.missing_slots() == ["current_pin"]
    assert pins_to_ask_again(to_snapshot(_session(definitions))) == []


def test_a_pin_where_it_cannot_be_left_out_is_an_error(definitions: dict[str, TransactionDefinition]) -> None:
    session = _session(definitions)
    session.recent_utterances = [Secret("370815")]  # type: ignore[list-item]
    with pytest.raises(SnapshotError, match=r"recent_utterances\[0\]: a PIN"):
        to_snapshot(session)


class _Unknown:
    pass


def test_a_value_of_an_unknown_type_is_an_error_naming_where_it_is(
        definitions: dict[str, TransactionDefinition]) -> None:
    session = _session(definitions)
    assert session.flow is not None
    session.flow.facts["oops"] = _Unknown()
    with pytest.raises(SnapshotError, match=r"flow\.facts\.oops: a .*_Unknown cannot be put in a snapshot"):
        to_snapshot(session)


def test_a_type_name_outside_the_allow_list_is_refused_not_imported(
        definitions: dict[str, TransactionDefinition]) -> None:
    data = to_snapshot(_session(definitions))
    data["session"]["card_status"] = {"$t": "enum", "type": "os.system", "v": "ls"}
    with pytest.raises(SnapshotError, match="not in the snapshot allow-list"):
        from_snapshot(data, definitions, all_guards())


def test_a_snapshot_of_another_format_or_with_unknown_fields_is_refused(
        definitions: dict[str, TransactionDefinition]) -> None:
    data = to_snapshot(_session(definitions))
    with pytest.raises(SnapshotError, match="format"):
        from_snapshot({**data, "format": 2}, definitions, all_guards())
    with pytest.raises(SnapshotError, match="unknown session fields"):
        from_snapshot({**data, "session": {**data["session"], "mood": "happy"}}, definitions, all_guards())
    data["session"]["flow"]["v"]["definition"] = "teleport"
    with pytest.raises(SnapshotError, match="no transaction 'teleport'"):
        from_snapshot(data, definitions, all_guards())


def test_a_state_the_definition_does_not_have_is_refused(definitions: dict[str, TransactionDefinition]) -> None:
    data = to_snapshot(_session(definitions))
    data["session"]["flow"]["v"]["state"] = "launch_rockets"
    with pytest.raises(SnapshotError, match="flow"):
        from_snapshot(data, definitions, all_guards())


_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=8),
    st.floats(allow_nan=False), st.decimals(allow_nan=False, allow_infinity=False),
    st.dates(), st.datetimes(timezones=st.sampled_from([None, UTC, SHANGHAI])), st.timedeltas(),
    st.sampled_from([*Arrival, *AuthFactor, *Awaiting, *CardStatus]),
)
_values = st.recursive(_leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.lists(inner, max_size=3).map(tuple),
    st.frozensets(st.sampled_from([*AuthFactor, "a", 1, date(2026, 1, 1)]), max_size=3),
    st.dictionaries(st.text(max_size=4), inner, max_size=3),  # "$"-keys and
    st.dictionaries(st.sampled_from([*Arrival, 1, "$t"]), inner, max_size=3),  # non-text keys: the map form
), max_leaves=12)


@given(slots=st.dictionaries(st.text(min_size=1, max_size=6), _values, max_size=4), facts=_values)
def test_any_mix_of_typed_values_round_trips_exactly(slots: dict[str, Any], facts: Any) -> None:
    definitions = _definitions()
    flow = Flow(definitions["balance"], guards=all_guards(), slots=slots)
    flow.facts["anything"] = facts
    session = Session(session_id="S-2", kiosk_id="K", lang="en", started_at=AT, last_activity_at=AT, flow=flow)
    back = _through_json(session, definitions)
    assert back.flow is not None
    assert back.flow.slots == slots
    assert back.flow.facts["anything"] == facts
    assert to_snapshot(back) == to_snapshot(session)  # the same tags: every type came back as itself


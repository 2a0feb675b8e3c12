"""The PIN-change rules of the shipped pack, the two PIN checks, and the guarded ``change_pin``.

Each test starts from a PIN-change context that passes everything and changes one fact. The gate
only ever sees weakness names and whether the two entries matched: no test here holds a PIN
except the guard's, which must keep it out of the permit and the audit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from compliance_helpers import build, figure, make_gate, rule
from pydantic import ValidationError

from vtm.audit import AuditKeyring, AuditLog
from vtm.banking.models import CardStatus, PinChange
from vtm.banking.pin_rules import PinWeakness
from vtm.compliance import AuthFactor, ComplianceViolation, Gate, GateContext, GuardedCoreBanking, Outcome, PolicyPack
from vtm.compliance.checks import CHECKS, PinStrengthParams
from vtm.compliance.context import Slots
from vtm.compliance.semantic import TextEmbedder

CARD = "6222000011112222"
CHECKPOINTS = ("change_pin.authenticate", "change_pin.new_pin", "change_pin.execute")
CURRENT_PIN, NEW_PIN = "802731", "135790"


def pin_ctx(*, slots: dict[str, Any] | None = None, **overrides: Any) -> GateContext:
    """A PIN change the pack allows at every step: card + PIN, a new PIN without weakness, entered twice."""
    judged = {"card_number": CARD, "new_pin_weakness": frozenset(), "new_pin_matches": True}
    return build("change_pin", slots={**judged, **(slots or {})}, **overrides)


def fired(gate: Gate, checkpoint: str, ctx: GateContext) -> set[str]:
    return {h.rule_id for h in gate.evaluate(checkpoint, ctx).hits}


def test_a_clean_pin_change_is_allowed_at_every_step(gate: Gate) -> None:
    for checkpoint in CHECKPOINTS:
        verdict = gate.evaluate(checkpoint, pin_ctx())
        assert verdict.outcome is Outcome.ALLOW, (checkpoint, verdict.hits)


def test_the_pack_declares_the_three_steps_and_execute_authorises_the_change(pack: PolicyPack) -> None:
    assert [c for c in pack.checkpoints if c.startswith("change_pin.")] == list(CHECKPOINTS)
    authorises = pack.checkpoints["change_pin.execute"].authorises
    assert authorises is not None
    assert authorises.value == "change_pin"


# Authentication, lockout, card status ---------------------------------------------------------
def test_a_pin_change_starts_with_the_card_in_the_reader(gate: Gate) -> None:
    verdict = gate.evaluate("change_pin.authenticate", pin_ctx(identity={"factors": frozenset()}))
    assert verdict.outcome is Outcome.STEP_UP
    hit = next(h for h in verdict.hits if h.rule_id == "AUTH-PIN-CHANGE-CARD")
    assert hit.step_up == ((AuthFactor.CARD,),)
    # The current PIN is typed next, as the transaction's own step (checked by the core): not asked twice.
    assert gate.evaluate("change_pin.authenticate",
                         pin_ctx(identity={"factors": frozenset({AuthFactor.CARD})})).outcome is Outcome.ALLOW


@pytest.mark.parametrize("checkpoint", ["change_pin.new_pin", "change_pin.execute"])
def test_a_new_pin_needs_the_current_pin_checked_first(gate: Gate, checkpoint: str) -> None:
    verdict = gate.evaluate(checkpoint, pin_ctx(identity={"factors": frozenset({AuthFactor.CARD})}))
    assert verdict.outcome is Outcome.STEP_UP
    hit = next(h for h in verdict.hits if h.rule_id == "AUTH-PIN-CHANGE")
    assert hit.reason_code == "card_pin_required"
    assert hit.step_up == ((AuthFactor.PIN,),)


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_a_locked_pin_stops_a_pin_change(gate: Gate, pack: PolicyPack, checkpoint: str) -> None:
    limit = figure(pack, "AUTH-PIN-LOCKOUT", "max_failed_attempts")
    assert "AUTH-PIN-LOCKOUT" not in fired(gate, checkpoint, pin_ctx(core={"failed_pin_attempts": limit - 1}))
    verdict = gate.evaluate(checkpoint, pin_ctx(core={"failed_pin_attempts": limit}))
    assert verdict.outcome is Outcome.DENY
    assert "AUTH-PIN-LOCKOUT" in {h.rule_id for h in verdict.hits}


@pytest.mark.parametrize("status", sorted(set(CardStatus) - {CardStatus.ACTIVE}))
def test_a_blocked_card_cannot_change_its_pin(gate: Gate, status: CardStatus) -> None:
    for checkpoint in CHECKPOINTS:
        assert "CARD-STATUS-BLOCKED" in fired(gate, checkpoint, pin_ctx(core={"card_status": status}))


def test_session_limits_apply_to_a_pin_change(pack: PolicyPack) -> None:
    for rule_id in ("SES-TIMEOUT-TOTAL", "SES-TIMEOUT-IDLE", "AUTH-FACE-CONSENT"):
        assert rule(pack, rule_id).applies_to("change_pin.authenticate"), rule_id
    assert rule(pack, "SES-TIMEOUT-IDLE").applies_to("change_pin.execute")


# The new PIN ----------------------------------------------------------------------------------
@pytest.mark.parametrize("weakness", list(PinWeakness))
@pytest.mark.parametrize("checkpoint", ["change_pin.new_pin", "change_pin.execute"])
def test_each_weakness_of_the_new_pin_is_refused(gate: Gate, weakness: PinWeakness, checkpoint: str) -> None:
    verdict = gate.evaluate(checkpoint, pin_ctx(slots={"new_pin_weakness": frozenset({weakness})}))
    assert verdict.outcome is Outcome.DENY
    (hit,) = [h for h in verdict.hits if h.rule_id == "PIN-WEAK"]
    assert (hit.reason_code, hit.prompt_key) == ("weak_pin", "compliance.pin.weak")
    assert hit.details == {"weaknesses": [weakness.value]}


@pytest.mark.parametrize("checkpoint", ["change_pin.new_pin", "change_pin.execute"])
def test_two_different_entries_of_the_new_pin_are_refused(gate: Gate, checkpoint: str) -> None:
    verdict = gate.evaluate(checkpoint, pin_ctx(slots={"new_pin_matches": False}))
    assert verdict.outcome is Outcome.DENY
    (hit,) = verdict.hits
    assert (hit.rule_id, hit.reason_code, hit.prompt_key) == ("PIN-MISMATCH", "pin_mismatch", "compliance.pin.mismatch")


def test_before_the_second_entry_the_new_pin_step_judges_only_the_weakness(gate: Gate) -> None:
    first_entry = pin_ctx(slots={"new_pin_matches": None})
    assert gate.evaluate("change_pin.new_pin", first_entry).outcome is Outcome.ALLOW


@pytest.mark.parametrize("missing", ["new_pin_weakness", "new_pin_matches", "card_number"])
def test_no_pin_change_is_authorised_before_the_new_pin_was_judged_and_entered_twice(
    gate: Gate, missing: str
) -> None:
    verdict = gate.evaluate("change_pin.execute", pin_ctx(slots={missing: None}))
    assert verdict.outcome is Outcome.DENY
    assert [(h.rule_id, h.details) for h in verdict.hits] == [("GATE-PARAMS", {"missing": missing})]


def test_pin_strength_fires_only_for_the_weaknesses_the_pack_lists() -> None:
    check = CHECKS["pin_strength"]
    only_birthday = PinStrengthParams(weaknesses=[PinWeakness.BIRTH_DATE])
    repeated = pin_ctx(slots={"new_pin_weakness": frozenset({PinWeakness.REPEATED})})
    both = pin_ctx(slots={"new_pin_weakness": frozenset({PinWeakness.REPEATED, PinWeakness.BIRTH_DATE})})
    assert check.fn(repeated, only_birthday, None) is None  # type: ignore[arg-type]  # resources unused
    finding = check.fn(both, only_birthday, None)  # type: ignore[arg-type]
    assert finding is not None
    assert finding.details == {"weaknesses": ["birth_date"]}
    assert check.fn(pin_ctx(slots={"new_pin_weakness": None}), only_birthday, None) is None  # type: ignore[arg-type]


def test_the_pack_cannot_name_an_unknown_weakness() -> None:
    with pytest.raises(ValidationError):
        PinStrengthParams.model_validate({"weaknesses": ["birthday"]})
    with pytest.raises(ValidationError):
        PinStrengthParams.model_validate({"weaknesses": []})


def test_slots_take_weakness_names_only_and_record_them_in_a_stable_order() -> None:
    slots = Slots(new_pin_weakness=frozenset({"sequential", "birth_date", "repeated"}))
    assert slots.model_dump(mode="json")["new_pin_weakness"] == ["birth_date", "repeated", "sequential"]
    with pytest.raises(ValidationError):
        Slots(new_pin_weakness=frozenset({NEW_PIN}))


# The guarded call -------------------------------------------------------------------------------
class PinCore:
    """A fake core that records the PIN changes the guard lets through."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, str]] = []

    def change_pin(self, card_number: str, current_pin: str, new_pin: str, idempotency_key: str) -> PinChange:
        self.calls.append((card_number, current_pin, new_pin, idempotency_key))
        return PinChange(reference="PC-1", card_number=card_number, changed_at=pin_ctx().session.now)


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    return AuditLog.from_url(f"sqlite:///{tmp_path / 'records.sqlite3'}", AuditKeyring.ephemeral())


def test_the_guard_changes_the_pin_once_under_a_permit_for_that_card_and_audits_no_pin(
    pack: PolicyPack, embedder: TextEmbedder, audit: AuditLog
) -> None:
    gate = make_gate(pack, embedder, audit=audit)
    core = PinCore()
    guard = GuardedCoreBanking(core, gate, "S-TEST")  # type: ignore[arg-type]  # a partial fake core
    with pytest.raises(ComplianceViolation):
        guard.change_pin(CARD, CURRENT_PIN, NEW_PIN, "pin-key-0001")  # no permit
    verdict = gate.check("change_pin.execute", pin_ctx())
    assert verdict.permit is not None
    assert verdict.params == {"operation": "change_pin", "card_number": CARD}
    with pytest.raises(ComplianceViolation):
        guard.change_pin("6222000033334444", CURRENT_PIN, NEW_PIN, "pin-key-0002", permit=verdict.permit)
    guard.change_pin(CARD, CURRENT_PIN, NEW_PIN, "pin-key-0003", permit=verdict.permit)
    with pytest.raises(ComplianceViolation):
        guard.change_pin(CARD, CURRENT_PIN, NEW_PIN, "pin-key-0004", permit=verdict.permit)  # used
    assert core.calls == [(CARD, CURRENT_PIN, NEW_PIN, "pin-key-0003")]
    entries = list(audit.entries(session_id="S-TEST"))
    assert {e.kind for e in entries} >= {"verdict", "operation", "operation_result", "violation"}
    recorded = repr([e.payload for e in entries])
    assert CURRENT_PIN not in recorded
    assert NEW_PIN not in recorded

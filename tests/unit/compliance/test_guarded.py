"""The gate's permits and the guard around the core: nothing mutates the core without a matching allow."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from compliance_helpers import NOW, build, make_gate

from vtm.audit import AuditKeyring, AuditLog
from vtm.banking.errors import InsufficientFunds, OutcomeUnknown
from vtm.banking.models import Arrival, CardStatus, LossKind, TransferRequest, TransferResult, TransferStatus
from vtm.compliance import (
    AuthFactor,
    ComplianceViolation,
    Gate,
    GuardedCoreBanking,
    Outcome,
    PolicyPack,
    UnknownCheckpoint,
)
from vtm.compliance.semantic import TextEmbedder


class RecordingCore:
    """Records every mutating call; only what the guard lets through ever arrives here."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.fail_next: Exception | None = None

    def _maybe_fail(self) -> None:
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc

    def transfer(self, request: TransferRequest) -> TransferResult:
        self.calls.append(("transfer", request))
        self._maybe_fail()
        return TransferResult(
            idempotency_key=request.idempotency_key,
            reference="T-1",
            status=TransferStatus.DELAYED,
            amount=request.amount,
            from_account=request.from_account,
            to_account=request.to_account,
            accepted_at=NOW,
            execute_at=NOW + timedelta(hours=24),
        )

    def report_loss(self, card_number: str, kind: LossKind, idempotency_key: str) -> object:
        self.calls.append(("report_loss", (card_number, kind)))
        return {"ok": True}

    def balance(self, account_number: str) -> str:
        self.calls.append(("balance", account_number))
        return "balance"


def request_for(ctx_slots: Any, key: str = "key-00000001", **changes: Any) -> TransferRequest:
    fields = {
        "idempotency_key": key,
        "from_account": ctx_slots.from_account,
        "to_account": ctx_slots.payee_account,
        "payee_name": ctx_slots.payee_name,
        "payee_bank": ctx_slots.payee_bank,
        "amount": ctx_slots.amount,
        "arrival": ctx_slots.arrival or Arrival.DELAYED,
    }
    return TransferRequest(**{**fields, **changes})


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    return AuditLog.from_url(f"sqlite:///{tmp_path / 'records.sqlite3'}", AuditKeyring.ephemeral())


@pytest.fixture
def audited_gate(pack: PolicyPack, audit: AuditLog, embedder: TextEmbedder) -> Gate:
    return make_gate(pack, embedder, audit=audit)


def guard(gate: Gate, core: RecordingCore, session_id: str = "S-TEST") -> GuardedCoreBanking:
    return GuardedCoreBanking(core, gate, session_id)  # type: ignore[arg-type]  # a partial fake core


def test_allow_at_execute_carries_a_permit_for_the_judged_parameters(audited_gate: Gate) -> None:
    verdict = audited_gate.check("transfer.execute", build())
    assert verdict.outcome is Outcome.ALLOW
    assert verdict.permit is not None
    assert verdict.permit.params_hash == verdict.params_hash
    assert verdict.params["amount"] == "800.00"
    assert verdict.params["to_account"] == "6217000099998888"


def test_no_permit_at_a_checkpoint_that_authorises_nothing(audited_gate: Gate) -> None:
    assert audited_gate.check("transfer.confirm", build()).permit is None


def test_no_permit_when_the_verdict_is_not_allow(audited_gate: Gate) -> None:
    verdict = audited_gate.check("transfer.execute", build(core={"card_status": CardStatus.FROZEN}))
    assert verdict.outcome is Outcome.DENY
    assert verdict.permit is None


def test_execute_with_missing_parameters_is_denied(audited_gate: Gate) -> None:
    verdict = audited_gate.check("transfer.execute", build(slots={"payee_bank": None}))
    assert verdict.outcome is Outcome.DENY
    assert verdict.hits[0].reason_code == "incomplete_parameters"


def test_unknown_checkpoint_is_an_error(audited_gate: Gate) -> None:
    with pytest.raises(UnknownCheckpoint):
        audited_gate.check("transfer.exec", build())


def test_guard_executes_exactly_the_permitted_transfer_once(audited_gate: Gate, audit: AuditLog) -> None:
    ctx = build()
    verdict = audited_gate.check("transfer.execute", ctx)
    core = RecordingCore()
    result = guard(audited_gate, core).transfer(request_for(ctx.slots), permit=verdict.permit)
    assert result.status is TransferStatus.DELAYED
    assert len(core.calls) == 1
    with pytest.raises(ComplianceViolation, match="already used"):
        guard(audited_gate, core).transfer(request_for(ctx.slots, key="key-00000002"), permit=verdict.permit)
    assert len(core.calls) == 1
    kinds = [e.kind for e in audit.entries(session_id="S-TEST")]
    assert kinds == ["verdict", "operation", "operation_result", "violation"]
    assert audit.verify().ok


def test_guard_refuses_a_changed_amount_without_calling_the_core(audited_gate: Gate) -> None:
    ctx = build()
    verdict = audited_gate.check("transfer.execute", ctx)
    core = RecordingCore()
    with pytest.raises(ComplianceViolation, match="parameters differ"):
        guard(audited_gate, core).transfer(
            request_for(ctx.slots, amount=Decimal("800.01")), permit=verdict.permit
        )
    assert core.calls == []


def test_guard_refuses_a_permit_from_another_session(audited_gate: Gate) -> None:
    ctx = build()
    verdict = audited_gate.check("transfer.execute", ctx)
    core = RecordingCore()
    with pytest.raises(ComplianceViolation, match="belongs to session"):
        guard(audited_gate, core, "S-OTHER").transfer(request_for(ctx.slots), permit=verdict.permit)
    assert core.calls == []


def test_guard_refuses_a_forged_or_missing_permit(
    audited_gate: Gate, pack: PolicyPack, embedder: TextEmbedder
) -> None:
    ctx = build()
    verdict = audited_gate.check("transfer.execute", ctx)
    assert verdict.permit is not None
    other_gate = make_gate(pack, embedder)
    core = RecordingCore()
    with pytest.raises(ComplianceViolation, match="not issued by this gate"):
        guard(other_gate, core).transfer(request_for(ctx.slots), permit=verdict.permit)
    forged = verdict.permit.model_copy(update={"expires_at": NOW + timedelta(days=1)})
    with pytest.raises(ComplianceViolation, match="not issued by this gate"):
        guard(audited_gate, core).transfer(request_for(ctx.slots), permit=forged)
    with pytest.raises(ComplianceViolation, match="no permit"):
        guard(audited_gate, core).transfer(request_for(ctx.slots))
    assert core.calls == []


def test_guard_refuses_an_expired_permit(pack: PolicyPack, embedder: TextEmbedder) -> None:
    now = [NOW]
    gate = make_gate(pack, embedder, clock=lambda: now[0])
    ctx = build()
    verdict = gate.check("transfer.execute", ctx)
    now[0] = NOW + timedelta(seconds=pack.document.permit_ttl_seconds + 1)
    core = RecordingCore()
    with pytest.raises(ComplianceViolation, match="expired"):
        guard(gate, core).transfer(request_for(ctx.slots), permit=verdict.permit)
    assert core.calls == []


def test_permit_for_a_transfer_does_not_authorise_a_loss_report(audited_gate: Gate) -> None:
    verdict = audited_gate.check("transfer.execute", build())
    core = RecordingCore()
    with pytest.raises(ComplianceViolation, match="is for transfer"):
        guard(audited_gate, core).report_loss(
            "6222000011112222", LossKind.TEMPORARY, "key-00000003", permit=verdict.permit
        )
    assert core.calls == []


def test_unknown_outcome_may_be_retried_with_the_same_key_only(audited_gate: Gate) -> None:
    ctx = build()
    verdict = audited_gate.check("transfer.execute", ctx)
    core = RecordingCore()
    door = guard(audited_gate, core)
    core.fail_next = OutcomeUnknown("timeout")
    with pytest.raises(OutcomeUnknown):
        door.transfer(request_for(ctx.slots), permit=verdict.permit)
    with pytest.raises(ComplianceViolation, match="idempotency key of its first call"):
        door.transfer(request_for(ctx.slots, key="key-99999999"), permit=verdict.permit)
    door.transfer(request_for(ctx.slots), permit=verdict.permit)
    assert [c[1].idempotency_key for c in core.calls] == ["key-00000001", "key-00000001"]


def test_a_definitive_core_error_uses_up_the_permit(audited_gate: Gate) -> None:
    ctx = build()
    verdict = audited_gate.check("transfer.execute", ctx)
    core = RecordingCore()
    core.fail_next = InsufficientFunds("no money")
    with pytest.raises(InsufficientFunds):
        guard(audited_gate, core).transfer(request_for(ctx.slots), permit=verdict.permit)
    with pytest.raises(ComplianceViolation):
        guard(audited_gate, core).transfer(request_for(ctx.slots), permit=verdict.permit)
    assert len(core.calls) == 1


def test_loss_report_under_its_permit(audited_gate: Gate) -> None:
    from vtm.banking.models import LossKind as Kind

    ctx = build(
        "card_loss",
        identity={"factors": frozenset({AuthFactor.ID_CARD})},
        slots={"loss_kind": Kind.TEMPORARY},
    )
    verdict = audited_gate.check("card_loss.report", ctx)
    assert verdict.permit is not None
    core = RecordingCore()
    with pytest.raises(ComplianceViolation):  # formal instead of temporary: different parameters
        guard(audited_gate, core).report_loss(
            "6222000011112222", Kind.FORMAL, "key-loss-0001", permit=verdict.permit
        )
    guard(audited_gate, core).report_loss(
        "6222000011112222", Kind.TEMPORARY, "key-loss-0001", permit=verdict.permit
    )
    assert core.calls == [("report_loss", ("6222000011112222", Kind.TEMPORARY))]


def test_read_only_calls_pass_through_without_a_permit(audited_gate: Gate) -> None:
    core = RecordingCore()
    assert guard(audited_gate, core).balance("6222000011112222") == "balance"


def test_large_value_report_is_recorded_after_execution(
    pack: PolicyPack, audit: AuditLog, tmp_path: Path, embedder: TextEmbedder
) -> None:
    gate = make_gate(pack, embedder, audit=audit)
    threshold = next(r for r in pack.rules if r.id == "RPT-LARGE-VALUE").params.threshold  # type: ignore[attr-defined]
    # make the report the only hit: a customer whose daily limit is not in play at this checkpoint
    ctx = build(
        core={"daily_transferred": threshold},
        identity={"factors": frozenset({AuthFactor.CARD, AuthFactor.PIN})},
    )
    verdict = gate.check("transfer.execute", ctx)
    assert [h.rule_id for h in verdict.reports] == ["RPT-LARGE-VALUE"]
    assert verdict.outcome is Outcome.DENY  # the daily limit still denies: the report did not weaken it
    assert audit.reports() == []  # nothing executed, nothing reported


def test_report_record_is_created_once_the_core_executed(
    tmp_path: Path, audit: AuditLog, embedder: TextEmbedder
) -> None:
    import shutil

    import yaml
    from compliance_helpers import PACK_PATH

    from vtm.compliance import load_pack

    for name in ("policy.yaml", "watchlist.yaml", "prompts.yaml", "fraud_exemplars.yaml"):
        shutil.copy(PACK_PATH.parent / name, tmp_path / name)
    data = yaml.safe_load((tmp_path / "policy.yaml").read_text(encoding="utf-8"))
    for r in data["rules"]:  # a bank with higher self-service limits
        if r["id"] == "TRF-LIMIT-SINGLE":
            r["params"]["max_amount"] = "1000000.00"
        if r["id"] == "TRF-LIMIT-DAILY":
            r["params"]["max_daily"] = "1000000.00"
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    pack = load_pack(tmp_path / "policy.yaml")
    threshold = next(r for r in pack.rules if r.id == "RPT-LARGE-VALUE").params.threshold  # type: ignore[attr-defined]
    gate = make_gate(pack, embedder, audit=audit)
    ctx = build(
        slots={"amount": threshold},
        identity={"factors": frozenset({AuthFactor.CARD, AuthFactor.PIN, AuthFactor.PIN_RECONFIRMED})},
    )
    verdict = gate.check("transfer.execute", ctx)
    assert verdict.outcome is Outcome.ALLOW
    assert [h.rule_id for h in verdict.reports] == ["RPT-LARGE-VALUE"]
    assert audit.reports() == []
    guard(gate, RecordingCore()).transfer(request_for(ctx.slots), permit=verdict.permit)
    (report,) = audit.reports(session_id="S-TEST")
    assert report.rule_id == "RPT-LARGE-VALUE"
    assert report.amount == threshold
    assert report.customer_id == "C-1"
    assert audit.verify().ok

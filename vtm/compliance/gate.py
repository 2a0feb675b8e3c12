"""The compliance gate: ``check(checkpoint, context) -> Verdict``.

Every rule of the pack that applies at the checkpoint runs; every rule that fires is reported,
and the strictest outcome wins (``report`` hits never change it). At a checkpoint that authorises
a core operation (``transfer.execute`` ...), an ``allow`` verdict carries a single-use
:class:`~vtm.compliance.verdict.Permit` bound to the session and to the hash of the exact
parameters judged; :class:`~vtm.compliance.guarded.GuardedCoreBanking` honours nothing else.

Every verdict is appended to the audit chain when the gate has an audit log.

Usage::

    gate = Gate(load_pack(path), audit=AuditLog.from_settings(settings))
    verdict = gate.check("transfer.execute", ctx)
    if verdict.outcome is Outcome.ALLOW:
        guarded.transfer(request, permit=verdict.permit)
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vtm.audit import AuditLog
from vtm.common.canonical import canonical_json, sha256_hex
from vtm.compliance.checks import PackResources
from vtm.compliance.context import GateContext
from vtm.compliance.errors import ComplianceError, EmbedderRequired, UnknownCheckpoint
from vtm.compliance.operations import (
    CONFIRMED_OPERATIONS,
    MissingParameter,
    Operation,
    params_from_context,
    params_hash,
)
from vtm.compliance.pack import PolicyPack
from vtm.compliance.permits import PermitRegistry
from vtm.compliance.semantic import SemanticIndex, TextEmbedder
from vtm.compliance.verdict import Effect, Outcome, Permit, RuleHit, Verdict, strictest

__all__ = ["INCOMPLETE_PARAMETERS", "UNCONFIRMED", "Clock", "Gate"]

Clock = Callable[[], datetime]

INCOMPLETE_PARAMETERS = RuleHit(
    rule_id="GATE-PARAMS",
    effect=Effect.DENY,
    reason_code="incomplete_parameters",
    prompt_key="compliance.gate.incomplete_parameters",
)
"""Built-in hit: an operation checkpoint was reached before all its parameters were known."""

UNCONFIRMED = RuleHit(
    rule_id="GATE-CONFIRM",
    effect=Effect.DENY,
    reason_code="no_explicit_confirmation",
    prompt_key="compliance.gate.no_explicit_confirmation",
)
"""Built-in hit: an operation in ``CONFIRMED_OPERATIONS`` without the customer's explicit confirmation."""

_SESSION_TRANSACTION = "session"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Gate:
    """Judges checkpoints against one policy pack; issues permits; writes verdicts to the audit chain."""

    def __init__(
        self,
        pack: PolicyPack,
        *,
        embedder: TextEmbedder | None = None,
        embedding_cache: Path | None = None,
        audit: AuditLog | None = None,
        clock: Clock = _utc_now,
        permits: PermitRegistry | None = None,
    ) -> None:
        """``embedder`` is required when the pack has ``fraud_semantic`` rules; the exemplars are
        embedded here (or read from ``embedding_cache``, keyed by exemplar file hash and model)."""
        self.pack = pack
        self.audit = audit
        self.permits = permits or PermitRegistry()
        self._clock = clock
        self.resources: PackResources = pack.resources
        needing = pack.embedder_rules
        if needing:
            if embedder is None or pack.exemplars is None:
                raise EmbedderRequired(needing)
            classifier_cs = [c for r in pack.rules if (c := getattr(r.params, "classifier", None)) is not None]
            lexical_cs = [c for r in pack.rules if (c := getattr(r.params, "lexical", None)) is not None]
            index = SemanticIndex(pack.exemplars, embedder, cache_dir=embedding_cache, classifier_cs=classifier_cs,
                                  lexical_cs=lexical_cs)
            self.resources = dataclasses.replace(pack.resources, semantic=index)

    @property
    def clock(self) -> Clock:
        return self._clock

    def evaluate(self, checkpoint: str, ctx: GateContext) -> Verdict:
        """Judge without side effects: no permit, no audit entry (for explain, replay and benchmarks)."""
        spec = self.pack.checkpoints.get(checkpoint)
        if spec is None:
            raise UnknownCheckpoint(checkpoint, list(self.pack.checkpoints))
        transaction = checkpoint.split(".", 1)[0]
        if transaction not in (ctx.transaction, _SESSION_TRANSACTION):
            raise ComplianceError(f"checkpoint {checkpoint!r} asked during transaction {ctx.transaction!r}")

        hits: list[RuleHit] = []
        params: dict[str, Any]
        if spec.authorises is not None:
            try:
                params = params_from_context(spec.authorises, ctx)
            except MissingParameter as exc:
                params = {"operation": spec.authorises.value, "missing": exc.slot}
                hits.append(INCOMPLETE_PARAMETERS.model_copy(update={"details": {"missing": exc.slot}}))
            if spec.authorises in CONFIRMED_OPERATIONS and ctx.slots.confirmation is None:
                hits.append(UNCONFIRMED)
        else:
            params = {"transaction": ctx.transaction, **ctx.slots.model_dump(mode="json", exclude_none=True)}

        resources = self.resources
        for rule in self.pack.rules_for(checkpoint):
            finding = rule.check.fn(ctx, rule.params, resources)
            if finding is None:
                continue
            if (
                rule.effect is Effect.WARN
                and rule.check.acknowledgeable
                and rule.spec.prompt in ctx.session.acknowledged
            ):
                continue  # warning heard and acknowledged in this session
            hits.append(
                RuleHit(
                    rule_id=rule.id,
                    effect=rule.effect,
                    reason_code=rule.spec.reason_code,
                    prompt_key=rule.spec.prompt,
                    interruptible=rule.spec.interruptible,
                    step_up=finding.step_up,
                    asks=rule.check.asks,
                    details=_jsonable(finding.details),
                )
            )
        outcome = strictest([h.effect.outcome for h in hits])
        return Verdict(
            checkpoint=checkpoint,
            session_id=ctx.session.session_id,
            customer_id=ctx.identity.customer_id,
            outcome=outcome,
            hits=tuple(hits),
            policy_version=self.pack.version,
            params=params,
            params_hash=params_hash(params),
            decided_at=self._clock(),
        )

    def check(self, checkpoint: str, ctx: GateContext) -> Verdict:
        """Judge, issue a permit on ``allow`` at an operation checkpoint, append the verdict to the audit."""
        verdict = self.evaluate(checkpoint, ctx)
        operation = self.pack.checkpoints[checkpoint].authorises
        if operation is not None and verdict.outcome is Outcome.ALLOW:
            verdict = self._with_permit(verdict, operation)
        if self.audit is not None:
            self.audit.append(
                "verdict",
                {
                    "checkpoint": checkpoint,
                    "transaction": ctx.transaction,
                    "outcome": verdict.outcome,
                    "customer_id": ctx.identity.customer_id,
                    "hits": [h.model_dump(mode="json") for h in verdict.hits],
                    "policy_version": verdict.policy_version,
                    "params": verdict.params,
                    "params_hash": verdict.params_hash,
                    "permit_id": verdict.permit.permit_id if verdict.permit else None,
                    "confirmation": ctx.slots.confirmation.model_dump(mode="json") if ctx.slots.confirmation else None,
                },
                session_id=ctx.session.session_id,
                ts=verdict.decided_at,
            )
        return verdict

    def _with_permit(self, verdict: Verdict, operation: Operation) -> Verdict:
        issued = verdict.decided_at
        permit = Permit(
            permit_id=uuid.uuid4().hex,
            session_id=verdict.session_id,
            operation=operation.value,
            params_hash=verdict.params_hash,
            verdict_hash=sha256_hex(canonical_json(verdict.model_dump(mode="json"))),
            issued_at=issued,
            expires_at=issued + timedelta(seconds=self.pack.document.permit_ttl_seconds),
        )
        verdict = verdict.model_copy(update={"permit": permit})
        self.permits.issue(permit, verdict)
        return verdict


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    import json

    return dict(json.loads(canonical_json(details)))

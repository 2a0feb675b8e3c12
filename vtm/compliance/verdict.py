"""Verdicts, rule hits and permits: what the gate answers.

Outcomes are ordered ``allow < warn < ask < step_up < refer < deny`` and the strictest wins: ``ask``
means the customer must first answer the rule's question (what a large transfer to a new payee is
for); the answer joins the context and the checkpoint is judged again. A rule may
also have the effect ``report`` (large-value reporting): it creates a report record and is listed
with the hits, but it ranks *with* ``allow`` and so can never weaken (or tighten) a verdict.

A :class:`Permit` is issued only with an ``allow`` verdict at a checkpoint that authorises a core
operation; it names the session, the operation and the SHA-256 of the exact parameters judged.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vtm.compliance.context import AuthFactor

__all__ = ["Effect", "Outcome", "Permit", "RuleHit", "Verdict", "strictest"]


class Outcome(StrEnum):
    """What the dialog must do next; ordered from least to most strict."""

    ALLOW = "allow"
    WARN = "warn"
    ASK = "ask"
    STEP_UP = "step_up"
    REFER = "refer"
    DENY = "deny"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {o: i for i, o in enumerate(Outcome)}


class Effect(StrEnum):
    """What a rule yields when it fires: an outcome, or ``report`` (record, never block)."""

    ALLOW = "allow"
    REPORT = "report"
    WARN = "warn"
    ASK = "ask"
    STEP_UP = "step_up"
    REFER = "refer"
    DENY = "deny"

    @property
    def outcome(self) -> Outcome:
        """The outcome this effect contributes; ``report`` contributes ``allow``."""
        return Outcome.ALLOW if self is Effect.REPORT else Outcome(self.value)


def strictest(outcomes: list[Outcome]) -> Outcome:
    return max(outcomes, key=lambda o: o.rank, default=Outcome.ALLOW)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RuleHit(_Frozen):
    rule_id: str
    effect: Effect
    reason_code: str
    prompt_key: str | None = None
    interruptible: bool = Field(default=True, description="False: a warning that must be heard in full")
    step_up: tuple[tuple[AuthFactor, ...], ...] = Field(
        default=(),
        description="Options that would satisfy the rule, each a set of missing factors; "
        "a non-face option always comes first",
    )
    asks: str | None = Field(
        default=None, description="``ask``: the context slot the customer's answer fills (e.g. purpose)"
    )
    details: dict[str, Any] = Field(
        default_factory=dict, description="What the check saw (matched phrase, score)"
    )


class Permit(_Frozen):
    """Single-use authority to execute one core operation with exactly the judged parameters."""

    permit_id: str
    session_id: str
    operation: str
    params_hash: str
    verdict_hash: str
    issued_at: datetime
    expires_at: datetime


class Verdict(_Frozen):
    checkpoint: str
    session_id: str
    customer_id: str | None = None
    outcome: Outcome
    hits: tuple[RuleHit, ...] = ()
    policy_version: str
    params: dict[str, Any] = Field(description="The exact parameters judged (JSON form)")
    params_hash: str
    decided_at: datetime
    permit: Permit | None = None

    @property
    def non_interruptible(self) -> bool:
        """A ``warn`` verdict whose warning must be played in full (barge-in disabled)."""
        return any(h.effect is Effect.WARN and not h.interruptible for h in self.hits)

    @property
    def reports(self) -> tuple[RuleHit, ...]:
        return tuple(h for h in self.hits if h.effect is Effect.REPORT)

    @property
    def blocking_hits(self) -> tuple[RuleHit, ...]:
        """The hits whose effect equals the verdict's outcome (what the customer hears first)."""
        return tuple(
            h for h in self.hits if h.effect is not Effect.REPORT and h.effect.outcome is self.outcome
        )

    @property
    def prompt_keys(self) -> tuple[str, ...]:
        return tuple(h.prompt_key for h in self.blocking_hits if h.prompt_key)

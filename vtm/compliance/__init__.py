"""Compliance and risk gate: every step is checked against a policy pack before it runs.

Public surface::

    load_pack(path) -> PolicyPack                  # compliance/policy.yaml, validated
    Gate(pack, audit=...).check(checkpoint, ctx)   # -> Verdict (strictest outcome wins)
    GuardedCoreBanking(core, gate, session_id)     # mutations only with a matching permit

Modules: ``context`` (what is judged), ``verdict`` (what is answered), ``checks`` (the named
checks), ``pack``/``pack_models`` (the policy pack), ``gate``, ``permits``, ``guarded``,
``operations`` (parameter hashing), ``matching`` (cue phrases, watch-list), ``cli``.
"""

from vtm.compliance.context import (
    AuthFactor,
    Confirmation,
    Consent,
    CoreFacts,
    GateContext,
    Identity,
    RecentTransfer,
    SessionFacts,
    Slots,
)
from vtm.compliance.errors import ComplianceError, ComplianceViolation, PolicyError, UnknownCheckpoint
from vtm.compliance.gate import Gate
from vtm.compliance.guarded import GuardedCoreBanking
from vtm.compliance.operations import Operation
from vtm.compliance.pack import PolicyPack, load_pack
from vtm.compliance.verdict import Effect, Outcome, Permit, RuleHit, Verdict

__all__ = [
    "AuthFactor",
    "ComplianceError",
    "ComplianceViolation",
    "Confirmation",
    "Consent",
    "CoreFacts",
    "Effect",
    "Gate",
    "GateContext",
    "GuardedCoreBanking",
    "Identity",
    "Operation",
    "Outcome",
    "Permit",
    "PolicyError",
    "PolicyPack",
    "RecentTransfer",
    "RuleHit",
    "SessionFacts",
    "Slots",
    "UnknownCheckpoint",
    "Verdict",
    "load_pack",
]

"""Errors of the compliance package.

::

    ComplianceError                  root
    ├── PolicyError                  the policy pack is invalid (names the file and the path inside it)
    ├── UnknownCheckpoint            a checkpoint the pack does not declare
    ├── EmbedderRequired             the pack has meaning-based rules and the gate was given no text embedder
    └── ComplianceViolation          an operation reached the guard without a fresh matching ``allow``
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ComplianceError",
    "ComplianceViolation",
    "EmbedderRequired",
    "PackProblem",
    "PolicyError",
    "UnknownCheckpoint",
]


class ComplianceError(Exception):
    """Root of all compliance errors."""


@dataclass(frozen=True, slots=True)
class PackProblem:
    """One thing wrong with a pack: which file, where inside it (``rules[3].params.max_amount``), what."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path or '<root>'}: {self.message}"


class PolicyError(ComplianceError):
    """The policy pack failed validation; ``problems`` lists every finding."""

    def __init__(self, problems: Sequence[PackProblem]) -> None:
        self.problems = tuple(problems)
        lines = "\n  ".join(str(p) for p in self.problems)
        super().__init__(f"invalid policy pack ({len(self.problems)} problem(s)):\n  {lines}")

    @classmethod
    def single(cls, file: Path | str, path: str, message: str) -> PolicyError:
        return cls([PackProblem(str(file), path, message)])


class UnknownCheckpoint(ComplianceError):
    """The gate was asked about a checkpoint the pack does not declare (a typo in a flow)."""

    def __init__(self, checkpoint: str, known: Sequence[str]) -> None:
        self.checkpoint = checkpoint
        super().__init__(f"unknown checkpoint {checkpoint!r}; the pack declares: {', '.join(sorted(known))}")


class EmbedderRequired(ComplianceError):
    """The pack's rules judge meaning (``fraud_semantic``) and the gate has no text embedder.

    Not retry-safe: a wiring error at start-up (see ``vtm.kiosk.bootstrap``); the kiosk must not
    run with a fraud rule silently switched off.
    """

    retry_safe = False

    def __init__(self, rule_ids: Sequence[str]) -> None:
        self.rule_ids = tuple(rule_ids)
        super().__init__(
            f"rules {', '.join(self.rule_ids)} need a text embedder: build the Gate with embedder= "
            "(the kiosk wires its NLU encoder in vtm/kiosk/bootstrap.py)"
        )


class ComplianceViolation(ComplianceError):
    """The guard refused to pass an operation to the core bank; nothing was executed."""

    def __init__(self, message: str, *, operation: str, session_id: str) -> None:
        self.operation = operation
        self.session_id = session_id
        super().__init__(f"{operation} refused for session {session_id}: {message}")

"""Errors of the compliance package.

::

    ComplianceError                  root
    ├── PolicyError                  the policy pack is invalid (names the file and the path inside it)
    ├── UnknownCheckpoint            a checkpoint the pack does not declare
    └── ComplianceViolation          an operation reached the guard without a fresh matching ``allow``
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ComplianceError", "ComplianceViolation", "PackProblem", "PolicyError", "UnknownCheckpoint"]


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


class ComplianceViolation(ComplianceError):
    """The guard refused to pass an operation to the core bank; nothing was executed."""

    def __init__(self, message: str, *, operation: str, session_id: str) -> None:
        self.operation = operation
        self.session_id = session_id
        super().__init__(f"{operation} refused for session {session_id}: {message}")

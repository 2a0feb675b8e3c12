"""Errors of the knowledge package.

::

    KnowledgeError                 root
    ├── KnowledgeContentError      knowledge/ is invalid; ``problems`` names file, path and fix for each
    └── EvaluationFileError        a question set (CSV) for ``vtm kb evaluate`` is malformed

None of these is worth retrying: content errors need an editor, not a second attempt
(``retry_safe`` is ``False`` throughout, as in the rest of the engine's error trees).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ContentProblem", "EvaluationFileError", "KnowledgeContentError", "KnowledgeError"]


class KnowledgeError(Exception):
    """Root of all knowledge-base errors."""

    retry_safe = False


@dataclass(frozen=True, slots=True)
class ContentProblem:
    """One thing wrong: the file, where inside it (``entries[3].spoken.zh``) and what."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path or '<root>'}: {self.message}"


class KnowledgeContentError(KnowledgeError):
    """The knowledge folder failed validation; every finding is listed, not just the first."""

    def __init__(self, problems: Sequence[ContentProblem]) -> None:
        self.problems = tuple(problems)
        lines = "\n  ".join(str(p) for p in self.problems)
        super().__init__(f"invalid knowledge base ({len(self.problems)} problem(s)):\n  {lines}")

    @classmethod
    def single(cls, file: Path | str, path: str, message: str) -> KnowledgeContentError:
        return cls([ContentProblem(str(file), path, message)])


class EvaluationFileError(KnowledgeError):
    """A question-set CSV is malformed; the message names the file and the row."""

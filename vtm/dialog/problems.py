"""A value the customer gave that cannot be used, and the prompt that says why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vtm.dialog.prompts import PromptCatalog

__all__ = ["Problem"]


@dataclass(frozen=True)
class Problem:
    """A value the customer gave that cannot be used; ``prompt`` says why."""

    slot: str
    prompt: str
    values: dict[str, Any]
    fallback: str | None = None  # said when the bank's prompts have no text for ``prompt`` itself

    def key(self, prompts: PromptCatalog) -> str:
        """The prompt to say: the specific one (``invalid.card_number.length``) if the bank wrote it, else the
        general one for the reason (``invalid.length``), which every reason has in both languages."""
        return self.prompt if self.fallback is None or prompts.has(self.prompt) else self.fallback

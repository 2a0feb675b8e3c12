"""``dialogs/dialog.yaml``: the conversation settings a bank edits, validated at load.

Phrase lists (matched after normalisation: simplified Chinese, lower case, no spaces), the closed
yes-list for explicit consent, which NLU entities fill which slot type, and the figures the kiosk
quotes (``bank_policy``). Errors name the file and the path inside it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml
import zhconv
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vtm.common import yamlio
from vtm.common.validation import problems
from vtm.dialog.confirmation import ConfirmationContent
from vtm.nlu.types import SlotName

__all__ = ["PIN_PAD", "DialogContent", "DialogContentError", "Phrases", "load_dialog_content", "squash"]

PIN_PAD = "pin_pad"
"""The slot type only the PIN pad fills (never speech)."""


class DialogContentError(Exception):
    """``dialogs/dialog.yaml`` is invalid; the message names the file and the field."""


def squash(text: str) -> str:
    return "".join(zhconv.convert(unicodedata.normalize("NFKC", text), "zh-cn").lower().split())


class DialogContent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    temporary_loss_days: int = Field(ge=1, le=60)
    idle_reset_seconds: float = Field(gt=0, le=3600)
    screen_silence_seconds: float = Field(
        gt=0, le=600, description="Seconds without a word, touch or device event at a kiosk screen in a session "
                                  "before the kiosk speaks up (the silence repair); the voice loop measures its own")
    phrases: dict[str, list[str]]
    confirmation: ConfirmationContent
    slot_types: dict[str, list[SlotName]] = Field(
        description="Slot type -> the NLU entities that fill it, in order of preference (empty: only "
                    "`default_from` fills it)")

    @property
    def bank_policy(self) -> dict[str, int]:
        """Figures prompts may quote by name ({temporary_loss_days})."""
        return {"temporary_loss_days": self.temporary_loss_days}

    def known_slot_types(self) -> set[str]:
        return {*self.slot_types, PIN_PAD}


@dataclass(frozen=True)
class Phrases:
    lists: dict[str, tuple[str, ...]]

    @classmethod
    def from_content(cls, content: DialogContent) -> Phrases:
        return cls({k: tuple(squash(p) for p in v) for k, v in content.phrases.items()})

    def matches(self, name: str, text: str) -> bool:
        squashed = squash(text)
        return any(p in squashed for p in self.lists.get(name, ()))


def load_dialog_content(path: Path) -> DialogContent:
    try:
        return DialogContent.model_validate(yamlio.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise DialogContentError(f"{path}: {exc}") from exc
    except ValidationError as exc:
        raise DialogContentError(f"{path}: " + "; ".join(problems(exc))) from exc

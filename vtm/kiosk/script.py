"""Conversation scripts: the YAML contract shared by ``vtm sim --script``, ``vtm test`` and reviewers.

::

    lang: zh
    today: 2026-11-23          # optional, for date resolution and the kiosk clock
    turns:
      - device: insert_card 6222020200001234
      - say: 我的卡丢了
        expect: {intent: report_card_lost, state: card_loss.choose_kind}
      - device: pin 123456
    expect_end:                 # conversation tests only
      outcome: completed
      transactions: [card_loss]
      card_status: {"6222020200001234": temporarily_lost}
      balance_delta: {"6222020200001234": "-2000.00"}   # by card or account number
      printed: 1                # files the printer wrote
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vtm.common import yamlio
from vtm.common.validation import problems

__all__ = ["EndExpectation", "Script", "ScriptError", "Turn", "TurnExpectation", "load_script"]


class ScriptError(Exception):
    """A script file is invalid; the message names the file and the path inside it."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TurnExpectation(_Strict):
    intent: str | None = None
    state: str | None = None
    slots: dict[str, str] = {}
    verdict: str | None = Field(default=None, description="An outcome (deny, refer...) or a rule id seen this turn")
    text_contains: list[str] = []
    text_not_contains: list[str] = []


class Turn(_Strict):
    say: str | None = None
    device: str | None = None
    audio: str | None = None
    expect: TurnExpectation | None = None

    @model_validator(mode="after")
    def _one_action(self) -> Turn:
        if sum(x is not None for x in (self.say, self.device, self.audio)) != 1:
            raise ValueError("a turn has exactly one of say, device, audio")
        return self


class EndExpectation(_Strict):
    outcome: Literal["completed", "cancelled", "handed_off", "failed", "active"] | None = None
    transactions: list[str] | None = None
    card_status: dict[str, str] = {}
    balance_delta: dict[str, Decimal] = {}
    printed: int | None = None
    operations: list[str] = Field(default=[], description="Operation names that must have run")
    not_operations: list[str] = Field(default=[], description="Operation names that must not have run")


class Script(_Strict):
    name: str | None = None
    lang: Literal["zh", "en"] = "zh"
    today: date | None = None
    elderly: bool = False
    turns: list[Turn] = Field(min_length=1)
    expect_end: EndExpectation | None = None


def load_script(path: Path) -> Script:
    try:
        raw = yamlio.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScriptError(f"{path}: {exc}") from exc
    try:
        return Script.model_validate(raw)
    except ValidationError as exc:
        raise ScriptError("\n".join(problems(exc, prefix=f"{path}: "))) from exc

"""The policy pack's file formats, as pydantic models (the shape a compliance officer edits).

``policy.yaml`` (:class:`PolicyDocument`) names its sibling files ``watchlist.yaml``
(:class:`WatchlistDocument`) and ``prompts.yaml`` (:class:`PromptsDocument`). These models check
the *shape*; cross-references (check names, their parameters, prompt keys, checkpoint patterns)
are checked by :mod:`vtm.compliance.pack` when the pack is compiled.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vtm.compliance.operations import Operation
from vtm.compliance.verdict import Effect

__all__ = [
    "CheckpointSpec",
    "PackFiles",
    "PhraseList",
    "PolicyDocument",
    "PromptText",
    "PromptsDocument",
    "RuleSpec",
    "WatchEntry",
    "WatchlistDocument",
    "WatchlistSpec",
]

_ID = r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$"
_CHECKPOINT = r"^[a-z_]+\.[a-z_]+$"
_PATTERN = r"^[a-z_*?\[\]]+\.[a-z_*?\[\]]+$"
_KEY = r"^[a-z0-9_]+(\.[a-z0-9_]+)+$"


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CheckpointSpec(_Doc):
    id: str = Field(pattern=_CHECKPOINT, description="<transaction>.<step>")
    description: str = ""
    authorises: Operation | None = Field(
        default=None, description="The core operation an 'allow' here authorises (a permit is issued)"
    )


class RuleSpec(_Doc):
    id: str = Field(pattern=_ID, description="Stable rule id, e.g. TRF-LIMIT-DAILY")
    description: str = Field(min_length=1)
    applies_to: list[str] = Field(min_length=1, description="Checkpoint patterns (fnmatch), e.g. transfer.*")
    check: str = Field(description="Name of a check in vtm/compliance/checks.py")
    params: dict[str, Any] = Field(default_factory=dict, description="Parameters of the named check")
    effect: Effect = Field(description="Verdict when the rule fires (report: record only, never blocks)")
    reason_code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    prompt: str | None = Field(default=None, pattern=_KEY, description="Prompt key the customer hears")
    interruptible: bool = Field(default=True, description="False: a warning that must be heard in full")
    source: str = Field(default="", description="Regulation or practice the rule implements")
    grade: str = Field(default="U", pattern=r"^[ABCU]$", description="Source grade (DOMAIN.md): A, B, C or U")
    enabled: bool = True

    @field_validator("applies_to")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        import re

        for pattern in value:
            if not re.match(_PATTERN, pattern):
                raise ValueError(
                    f"{pattern!r} is not a <transaction>.<step> pattern (wildcards * ? [] allowed)"
                )
        return value


class PhraseList(_Doc):
    zh: list[str] = Field(min_length=1)
    en: list[str] = Field(min_length=1)


class PackFiles(_Doc):
    watchlist: str = "watchlist.yaml"
    prompts: str = "prompts.yaml"
    fraud_exemplars: str | None = Field(
        default=None, description="Fraud-script exemplars for the fraud_semantic check (e.g. fraud_exemplars.yaml)"
    )


class PolicyDocument(_Doc):
    """``compliance/policy.yaml``."""

    pack: str = Field(min_length=1, description="Pack name")
    edition: str = Field(min_length=1, description="Human edition label; the version is the content hash")
    description: str = ""
    files: PackFiles = PackFiles()
    permit_ttl_seconds: int = Field(
        default=120, gt=0, le=3600, description="How long an 'allow' stays usable"
    )
    checkpoints: list[CheckpointSpec] = Field(min_length=1)
    phrase_lists: dict[str, PhraseList] = Field(default_factory=dict)
    rules: list[RuleSpec] = Field(min_length=1)


class WatchlistSpec(_Doc):
    description: str = ""
    source: str = ""
    effect_hint: str = ""


class WatchEntry(_Doc):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(pattern=r"^[A-Z0-9-]+$")
    list_name: str = Field(alias="list", description="Name of a list under lists")
    names: list[str] = Field(default_factory=list)
    accounts: list[str] = Field(default_factory=list)
    note: str = ""

    @field_validator("accounts")
    @classmethod
    def _digits(cls, value: list[str]) -> list[str]:
        for account in value:
            if not account.replace(" ", "").isdigit():
                raise ValueError(f"account {account!r} must be digits (spaces allowed)")
        return value


class WatchlistDocument(_Doc):
    """``compliance/watchlist.yaml``: named lists and their entries (names and/or accounts)."""

    lists: dict[str, WatchlistSpec] = Field(min_length=1)
    entries: list[WatchEntry] = Field(default_factory=list)


class PromptText(_Doc):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    zh_cn: str = Field(alias="zh-CN", min_length=1)
    en: str = Field(min_length=1)


class PromptsDocument(_Doc):
    """``compliance/prompts.yaml``: every prompt key with its zh-CN and en text."""

    prompts: dict[str, PromptText]

    @field_validator("prompts")
    @classmethod
    def _keys(cls, value: dict[str, PromptText]) -> dict[str, PromptText]:
        import re

        for key in value:
            if not re.match(_KEY, key):
                raise ValueError(
                    f"prompt key {key!r} must be dotted lower-case, e.g. compliance.transfer.limit"
                )
        return value

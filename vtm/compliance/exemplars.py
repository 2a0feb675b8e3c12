"""Fraud-script exemplars: ``compliance/fraud_exemplars.yaml``, the content the semantic check compares with.

The file lists, per fraud type, how customers retell that script (``zh`` and ``en`` lines), and a
``benign`` list of ordinary reasons to move money and ordinary kiosk talk (rent, tuition, a
builder, "yes, that account"). :class:`ExemplarsDocument` checks the shape; :func:`compile_exemplars`
checks what a model cannot (a line listed twice, or both as fraud and as benign) and numbers the
lines. A line's id is its path in the file, ``<type>.<lang>[<index>]`` or ``benign.<lang>[<index>]``,
so an auditor reading a verdict finds the exact line.

Usage::

    exemplars = compile_exemplars(document, Path("compliance/fraud_exemplars.yaml"), problems)
    exemplars.fraud[0].id     # 'safe_account_police.zh[0]'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vtm.common.canonical import canonical_json, sha256_hex
from vtm.compliance.errors import PackProblem
from vtm.compliance.matching import fold
from vtm.compliance.pack_models import PromptText

__all__ = [
    "BENIGN",
    "BenignLines",
    "Exemplar",
    "ExemplarSet",
    "ExemplarsDocument",
    "FraudTypeSpec",
    "compile_exemplars",
    "is_bare",
]

Lang = Literal["zh", "en"]
BENIGN = "benign"
"""The label of counter-examples (a fraud type may not use this id)."""

_TYPE_ID = r"^[a-z][a-z0-9_]*$"
_MIN_LINES = 10  # per type and language: fewer leaves a script's wording too narrow to match
_MAX_LINES = 500  # more is a sign of pasted data, and costs start-up time (embeddings are cached)
_MIN_ZH_CHARS = 6  # a fraud line must tell a situation: folded characters (zh) ...
_MIN_EN_WORDS = 4  # ... or words (en)


def is_bare(text: str, lang: Lang) -> bool:
    """Too short to tell a situation ("grandson", "投资", "holding account"). As a fraud line it is
    what honest customers say too ("hold on", a payee's name), and the nearest-line rule then
    warns them; bare reasons belong in the benign list, if anywhere."""
    return len(fold(text)) < _MIN_ZH_CHARS if lang == "zh" else len(text.split()) < _MIN_EN_WORDS


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _lines(value: list[str]) -> list[str]:
    for line in value:
        if not line.strip():
            raise ValueError("an exemplar line is empty")
    return value


class FraudTypeSpec(_Doc):
    """One fraud type: its display label and the customer's retellings in each language."""

    label: PromptText = Field(description="Name shown to staff and in `vtm compliance explain`")
    zh: list[str] = Field(min_length=_MIN_LINES, max_length=_MAX_LINES)
    en: list[str] = Field(min_length=_MIN_LINES, max_length=_MAX_LINES)

    _check_lines = field_validator("zh", "en")(_lines)


class BenignLines(_Doc):
    """Counter-examples: ordinary transfer reasons and kiosk talk that must not raise an alarm."""

    zh: list[str] = Field(min_length=_MIN_LINES)
    en: list[str] = Field(min_length=_MIN_LINES)

    _check_lines = field_validator("zh", "en")(_lines)


class ExemplarsDocument(_Doc):
    """``compliance/fraud_exemplars.yaml``."""

    description: str = ""
    source: str = ""
    fraud_types: dict[str, FraudTypeSpec] = Field(min_length=1)
    benign: BenignLines

    @field_validator("fraud_types")
    @classmethod
    def _type_ids(cls, value: dict[str, FraudTypeSpec]) -> dict[str, FraudTypeSpec]:
        import re

        for key in value:
            if not re.match(_TYPE_ID, key) or key == BENIGN:
                raise ValueError(f"fraud type id {key!r} must be snake_case and not {BENIGN!r}")
        return value


@dataclass(frozen=True, slots=True)
class Exemplar:
    """One line of the file; ``fraud_type`` is :data:`BENIGN` for a counter-example."""

    id: str
    fraud_type: str
    lang: Lang
    text: str

    @property
    def is_fraud(self) -> bool:
        return self.fraud_type != BENIGN


@dataclass(frozen=True)
class ExemplarSet:
    """The compiled lines, fraud first then benign, and the SHA-256 of the document (its version)."""

    path: Path
    document: ExemplarsDocument
    fraud: tuple[Exemplar, ...]
    benign: tuple[Exemplar, ...]
    content_hash: str

    @property
    def all(self) -> tuple[Exemplar, ...]:
        return self.fraud + self.benign

    def label(self, fraud_type: str, language: str) -> str:
        text = self.document.fraud_types[fraud_type].label
        return text.en if language == "en" else text.zh_cn


def compile_exemplars(document: ExemplarsDocument, path: Path, problems: list[PackProblem]) -> ExemplarSet:
    """Number the lines and append a problem for every line listed twice (after folding)."""
    fraud: list[Exemplar] = []
    benign: list[Exemplar] = []
    langs: tuple[Lang, ...] = ("zh", "en")
    for type_id, spec in document.fraud_types.items():
        for lang in langs:
            lines = spec.zh if lang == "zh" else spec.en
            fraud.extend(Exemplar(f"{type_id}.{lang}[{i}]", type_id, lang, t) for i, t in enumerate(lines))
    for lang in langs:
        lines = document.benign.zh if lang == "zh" else document.benign.en
        benign.extend(Exemplar(f"{BENIGN}.{lang}[{i}]", BENIGN, lang, t) for i, t in enumerate(lines))

    for exemplar in fraud:
        if is_bare(exemplar.text, exemplar.lang):
            problems.append(PackProblem(
                str(path), f"fraud_types.{exemplar.id}",
                f"too short to tell a situation (at least {_MIN_ZH_CHARS} characters in zh, "
                f"{_MIN_EN_WORDS} words in en)",
            ))
    first_seen: dict[str, str] = {}
    for exemplar in (*fraud, *benign):
        key = fold(exemplar.text)
        path_in_file = f"fraud_types.{exemplar.id}" if exemplar.is_fraud else exemplar.id
        if key in first_seen:
            problems.append(
                PackProblem(str(path), path_in_file, f"the same line is already at {first_seen[key]}")
            )
        else:
            first_seen[key] = path_in_file
    content_hash = sha256_hex(canonical_json(document.model_dump(mode="json", by_alias=True)))
    return ExemplarSet(path, document, tuple(fraud), tuple(benign), content_hash)

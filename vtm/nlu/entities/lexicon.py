"""The word lists the rule extractors use, loaded from content (``dialogs/nlu/lexicon/*.yaml``).

Bank names and aliases, relation words for saved payees (我妈, my mom), payee cues, surnames
and the closed-set choices (delivery, loss kind, arrival, language) are content a bank edits,
not code. They are validated at load; an error names the file, the path inside it and the fix.

Usage::

    lexicon = load_lexicon(settings.content_root / "dialogs" / "nlu" / "lexicon")
    entities = extract_entities("转到工行", "zh", today, lexicon=lexicon)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vtm.common import yamlio

__all__ = ["ChoiceSet", "Lexicon", "LexiconError", "PhraseMatcher", "default_lexicon", "load_lexicon"]

_DEFAULT_DIR = Path(__file__).resolve().parents[3] / "dialogs" / "nlu" / "lexicon"


class LexiconError(Exception):
    """A lexicon file is missing or invalid; the message names the file and the path inside it."""


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Bank(_Doc):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)
    aliases: list[str] = Field(min_length=1)


class _BanksDoc(_Doc):
    banks: dict[str, _Bank] = Field(min_length=1)


class _PayeesDoc(_Doc):
    relations: dict[str, list[str]]
    zh_cues: list[str] = Field(min_length=1)
    zh_name_stops: str
    surnames: str = Field(min_length=1)
    compound_surnames: list[str]
    zh_not_names: list[str] = Field(default_factory=list)
    en_not_names: list[str]

    @field_validator("compound_surnames")
    @classmethod
    def _two_chars(cls, value: list[str]) -> list[str]:
        bad = [s for s in value if len(s) != 2]
        if bad:
            raise ValueError(f"compound surnames have two characters: fix {bad}")
        return value


class _Choice(_Doc):
    phrases: list[str] = Field(min_length=1)
    weak: list[str] = Field(default_factory=list)


class _ChoicesDoc(_Doc):
    delivery: dict[str, _Choice]
    loss_kind: dict[str, _Choice]
    arrival: dict[str, _Choice]
    language: dict[str, _Choice]


_D = TypeVar("_D", bound=_Doc)


def _phrase_regex(phrases: list[str]) -> re.Pattern[str]:
    """One alternation, longest phrase first; Latin phrases only match whole words."""
    parts = []
    for p in sorted({p.lower() for p in phrases}, key=len, reverse=True):
        escaped = re.escape(p)
        if p[:1].isascii() and p[:1].isalnum():
            escaped = rf"(?<![a-z]){escaped}"
        if p[-1:].isascii() and p[-1:].isalnum():
            escaped = rf"{escaped}(?![a-z])"
        parts.append(escaped)
    return re.compile("|".join(parts) if parts else r"(?!x)x")


@dataclass(frozen=True)
class PhraseMatcher:
    """Finds phrases and answers the canonical value each stands for."""

    pattern: re.Pattern[str]
    values: dict[str, str]
    weak: frozenset[str] = frozenset()

    @classmethod
    def build(cls, table: dict[str, list[str]], weak: dict[str, list[str]] | None = None) -> PhraseMatcher:
        values: dict[str, str] = {}
        weak_set: set[str] = set()
        for value, phrases in table.items():
            for p in phrases:
                values.setdefault(p.lower(), value)
        for value, phrases in (weak or {}).items():
            for p in phrases:
                values.setdefault(p.lower(), value)
                weak_set.add(p.lower())
        return cls(_phrase_regex(list(values)), values, frozenset(weak_set))

    def finditer(self, text: str) -> list[tuple[int, int, str, bool]]:
        """``(start, end, value, weak)`` for each phrase found in ``text``."""
        return [(m.start(), m.end(), self.values[m.group()], m.group() in self.weak)
                for m in self.pattern.finditer(text)]  # fmt: skip


@dataclass(frozen=True)
class ChoiceSet:
    delivery: PhraseMatcher
    loss_kind: PhraseMatcher
    arrival: PhraseMatcher
    language: PhraseMatcher


@dataclass(frozen=True)
class Lexicon:
    """Everything the rule extractors look up, compiled once."""

    banks: PhraseMatcher
    relations: PhraseMatcher
    zh_cues: re.Pattern[str]
    zh_name_stops: frozenset[str]
    surnames: frozenset[str]
    compound_surnames: frozenset[str]
    zh_not_names: frozenset[str]
    en_not_names: frozenset[str]
    choices: ChoiceSet
    bank_names: dict[str, tuple[str, str]] = field(default_factory=dict)
    bank_aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)  # code -> every alias, as written


def _read(path: Path, model: type[_D]) -> _D:
    try:
        raw = yamlio.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LexiconError(f"{path}: cannot read ({exc.strerror}); restore the file") from exc
    except yaml.YAMLError as exc:
        raise LexiconError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()
        )
        raise LexiconError(f"{path}: {problems}") from exc


def _choices(doc: dict[str, _Choice]) -> PhraseMatcher:
    return PhraseMatcher.build({k: v.phrases for k, v in doc.items()}, {k: v.weak for k, v in doc.items()})


def load_lexicon(folder: Path) -> Lexicon:
    """Load and validate ``banks.yaml``, ``payees.yaml`` and ``choices.yaml`` from ``folder``."""
    banks = _read(folder / "banks.yaml", _BanksDoc)
    payees = _read(folder / "payees.yaml", _PayeesDoc)
    choices = _read(folder / "choices.yaml", _ChoicesDoc)
    cues = sorted(payees.zh_cues, key=len, reverse=True)
    return Lexicon(
        banks=PhraseMatcher.build({code: b.aliases for code, b in banks.banks.items()}),
        relations=PhraseMatcher.build(payees.relations),
        zh_cues=re.compile("|".join(re.escape(c) for c in cues)),
        zh_name_stops=frozenset(payees.zh_name_stops),
        surnames=frozenset(payees.surnames),
        compound_surnames=frozenset(payees.compound_surnames),
        zh_not_names=frozenset(payees.zh_not_names),
        en_not_names=frozenset(w.lower() for w in payees.en_not_names),
        choices=ChoiceSet(
            delivery=_choices(choices.delivery),
            loss_kind=_choices(choices.loss_kind),
            arrival=_choices(choices.arrival),
            language=_choices(choices.language),
        ),
        bank_names={code: (b.zh, b.en) for code, b in banks.banks.items()},
        bank_aliases={code: tuple(b.aliases) for code, b in banks.banks.items()},
    )


@cache
def default_lexicon() -> Lexicon:
    """The lexicon shipped in this repository's ``dialogs/nlu/lexicon`` (loaded on first use)."""
    return load_lexicon(_DEFAULT_DIR)

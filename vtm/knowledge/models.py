"""The knowledge folder's file formats, as pydantic models (the shape a bank editor writes).

``knowledge/``
  ``settings.yaml``   :class:`SettingsFile`   answer threshold, fusion weights, the decline prompt
  ``figures.yaml``    :class:`FiguresFile`    named figures and where each comes from (policy pack,
                                              dialog settings, a regulation)
  ``bank_facts.yaml`` :class:`BankFactsFile`  hotline, bank name, opening hours, fees (``sample: true``
                                              while they are placeholders)
  ``entries/*.yaml``  :class:`TopicFile`      one topic per file, its question-and-answer entries
  ``phrasings/*.yaml`` :class:`PhrasingsFile` optional: more ways customers ask, per entry (what the
                                              entry classifier learns from)
  ``phrasings/out_of_scope.yaml`` :class:`OutOfScopeFile` optional: questions no entry answers

These models check the *shape* of each file. Cross-references (placeholders, transactions,
figure sources, duplicate ids, the number of spoken sentences after rendering) are checked by
:mod:`vtm.knowledge.loader`, which reports every problem with the file and the path inside it.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

__all__ = [
    "BankFactsFile",
    "Bilingual",
    "DialogFigure",
    "EntrySpec",
    "FigureFormat",
    "FigureSpec",
    "FiguresFile",
    "Grade",
    "OutOfScopeFile",
    "PhrasingsFile",
    "PolicyFigure",
    "QuestionVariants",
    "RegulationFigure",
    "RetrievalSettings",
    "SettingsFile",
    "Thresholds",
    "TopicFile",
]

ENTRY_ID = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$"
NAME = r"^[a-z][a-z0-9_]*$"
MIN_VARIANTS = 3
MAX_VARIANTS = 6
MAX_PHRASINGS = 80
_CJK = re.compile(r"[\u3400-\u9fff]")


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Grade(StrEnum):
    """Source grade as in DOMAIN.md: A primary source, B secondary sources agree, C weak, U unverified."""

    A = "A"
    B = "B"
    C = "C"
    U = "U"


class Bilingual(_Doc):
    """The same text in Mandarin (simplified) and English."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    @field_validator("zh", "en")
    @classmethod
    def _stripped(cls, value: str) -> str:
        return value.strip()


def _distinct(values: list[str]) -> list[str]:
    folded = ["".join(v.lower().split()) for v in values]
    for i, text in enumerate(folded):
        if not text:
            raise ValueError(f"question {i} is empty")
        if text in folded[:i]:
            raise ValueError(f"question {values[i]!r} is given twice")
    return values


Variants = Annotated[list[str], Field(min_length=MIN_VARIANTS, max_length=MAX_VARIANTS)]


class QuestionVariants(_Doc):
    """How customers ask: 3 to 6 varied phrasings per language (their words, not the bank's)."""

    zh: Variants
    en: Variants

    @field_validator("zh", "en")
    @classmethod
    def _each_distinct(cls, value: list[str]) -> list[str]:
        return _distinct([v.strip() for v in value])


class EntrySpec(_Doc):
    """One question and its answer, as written in ``entries/<topic>.yaml``."""

    id: str = Field(pattern=ENTRY_ID, description="Stable id, e.g. card.loss.temporary_validity")
    title: Bilingual = Field(description="One line naming what the entry answers (listed in INDEX.md)")
    questions: QuestionVariants
    spoken: Bilingual = Field(description="What the kiosk says: at most two short sentences")
    screen: Bilingual = Field(description="What the kiosk shows: the fuller answer")
    source: str = Field(min_length=1, description="Regulation, DOMAIN.md section or bank practice")
    grade: Grade
    effective: date = Field(description="Date from which the answer is valid")
    transaction: str | None = Field(
        default=None, pattern=NAME, description="transactions/<name>.yaml the kiosk can start for this"
    )
    when: dict[str, bool] = Field(
        default_factory=dict, description="Flag figures that must have these values for the entry to be used"
    )


class TopicFile(_Doc):
    """``entries/<topic>.yaml``: one topic and its entries."""

    topic: str = Field(pattern=NAME)
    title: Bilingual
    entries: list[EntrySpec] = Field(min_length=1)


def _phrasing_list(value: list[str], lang: str) -> list[str]:
    value = _distinct([v.strip() for v in value])
    for i, text in enumerate(value):
        if "{" in text or "}" in text:
            raise ValueError(f"phrasing {i} takes no placeholders: {text!r}")
        if lang == "en" and _CJK.search(text):
            raise ValueError(f"English phrasing {i} contains Chinese characters: {text!r}")
    return value


Phrasings = Annotated[list[str], Field(min_length=1, max_length=MAX_PHRASINGS)]


class EntryPhrasings(_Doc):
    """More ways customers ask for one entry, per language (1 to 80 each; English without Chinese)."""

    zh: Phrasings
    en: Phrasings

    @field_validator("zh", "en")
    @classmethod
    def _clean(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return _phrasing_list(value, str(info.field_name))


class PhrasingsFile(_Doc):
    """``phrasings/<topic>.yaml``: customer phrasings per entry id of that topic (retrieval training data)."""

    topic: str = Field(pattern=NAME)
    phrasings: dict[str, EntryPhrasings] = Field(min_length=1)


class OutOfScopeFile(_Doc):
    """``phrasings/out_of_scope.yaml``: questions customers ask that no entry answers (the kiosk declines)."""

    zh: Annotated[list[str], Field(min_length=1)]
    en: Annotated[list[str], Field(min_length=1)]

    @field_validator("zh", "en")
    @classmethod
    def _clean(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return _phrasing_list(value, str(info.field_name))


class FigureFormat(StrEnum):
    """How a figure reads in an answer."""

    MONEY = "money"  # RMB amount: zh 5万元 / 12,500元, en RMB 50,000
    NUMBER = "number"  # a plain count: 3, 12
    MINUTES = "minutes"  # a value in seconds, read as whole minutes
    FLAG = "flag"  # true/false, for an entry's ``when`` only; never printed


class _FigureBase(_Doc):
    format: FigureFormat
    description: str = ""


class PolicyFigure(_FigureBase):
    """A rule parameter of the compliance policy pack (``compliance/policy.yaml``)."""

    source: Literal["policy"]
    rule: str = Field(description="Rule id, e.g. TRF-LIMIT-DAILY")
    param: str = Field(pattern=r"^[a-z_]+(\.[a-z_]+)*$", description="Parameter path, e.g. max_daily")


class DialogFigure(_FigureBase):
    """A kiosk conversation setting (``dialogs/dialog.yaml``), e.g. ``temporary_loss_days``."""

    source: Literal["dialog"]
    key: str = Field(pattern=NAME)


class RegulationFigure(_FigureBase):
    """A figure fixed by regulation, stated here with its citation (no other content file holds it)."""

    source: Literal["regulation"]
    value: Decimal | bool
    citation: str = Field(min_length=1)
    grade: Grade


FigureSpec = Annotated[PolicyFigure | DialogFigure | RegulationFigure, Field(discriminator="source")]


class FiguresFile(_Doc):
    """``figures.yaml``: every figure an answer may quote, as ``{policy.<name>}``."""

    figures: dict[str, FigureSpec] = Field(min_length=1)

    @field_validator("figures")
    @classmethod
    def _names(cls, value: dict[str, FigureSpec]) -> dict[str, FigureSpec]:
        for name in value:
            if not re.match(NAME, name):
                raise ValueError(f"figure name {name!r} must be lower_snake_case")
        return value


class BankFactsFile(_Doc):
    """``bank_facts.yaml``: facts about this bank, quoted as ``{bank.<name>}``."""

    sample: bool = Field(description="True while the values are placeholders a bank must replace")
    facts: dict[str, Bilingual] = Field(min_length=1)

    @field_validator("facts")
    @classmethod
    def _names(cls, value: dict[str, Bilingual]) -> dict[str, Bilingual]:
        for name in value:
            if not re.match(NAME, name):
                raise ValueError(f"fact name {name!r} must be lower_snake_case")
        return value


class Thresholds(_Doc):
    """One answer threshold per language: e5 similarities run higher in Mandarin than in English."""

    zh: float = Field(ge=0, le=1)
    en: float = Field(ge=0, le=1)

    def of(self, lang: Literal["zh", "en"]) -> float:
        return self.zh if lang == "zh" else self.en


class LengthFrom(_Doc):
    """Question length, in characters, per language, from which ``length_relief`` applies."""

    zh: int = Field(ge=1, le=500)
    en: int = Field(ge=1, le=2000)

    def of(self, lang: Literal["zh", "en"]) -> int:
        return self.zh if lang == "zh" else self.en


class RetrievalSettings(_Doc):
    """How a question is matched and when the kiosk answers (see docs/knowledge.md, calibration)."""

    threshold: Thresholds = Field(description="Answer only when the best fused score reaches this")
    length_relief: Thresholds | None = Field(
        default=None,
        description="Lower the threshold by this much per e-fold of question length beyond `length_from` "
                    "characters: a long, rambling question is less similar to any short phrasing (None: off)",
    )
    length_from: LengthFrom = Field(
        default_factory=lambda: LengthFrom(zh=8, en=40), description="Characters from which the relief starts"
    )
    outside_ceiling: Thresholds | None = Field(
        default=None,
        description="Decline when the entry classifier's probability that no entry answers is above this "
                    "(needs phrasings/out_of_scope.yaml; None: not used)",
    )
    dense_weight: float = Field(ge=0, le=1, description="Share of the e5 similarity in the fused score")
    dense_floor: float = Field(
        ge=0, lt=1, description="e5 cosine of an unrelated pair; similarities are rescaled from here to 1"
    )
    dense_second_weight: float = Field(
        default=0.0, ge=0, le=0.5,
        description="Share of an entry's second-best question variant in its e5 similarity (0: best only)",
    )
    lexical_saturation: float = Field(gt=0, description="BM25 score that counts as half a match")
    english_weight: float = Field(
        default=0.0, ge=0, le=1,
        description="Share of all-MiniLM-L6-v2 (an English encoder) in an English question's dense score; its "
                    "entry classifier's 'no entry' probability is averaged with e5's (0: not loaded)",
    )
    english_floor: float = Field(
        default=0.3, ge=0, lt=1,
        description="all-MiniLM-L6-v2 cosine of an unrelated pair; its similarities are rescaled from here to 1",
    )
    classifier_weight: float = Field(
        default=0.0, ge=0, le=1,
        description="Share of the entry classifier's probability in the final score (0: not used)",
    )
    classifier_c: float = Field(
        default=8.0, gt=0, description="Inverse regularisation of the entry classifier (larger: closer fit)"
    )
    candidates: int = Field(default=5, ge=1, le=50, description="Entries kept in a result for logs and review")
    other_institutions: dict[Literal["zh", "en"], list[str]] = Field(
        default_factory=dict,
        description="Payment apps and providers that are not this bank (besides the other banks of the NLU's bank "
                    "lexicon): a question naming one is answered only by an entry whose own texts name one",
    )
    counterparty_cues: dict[Literal["zh", "en"], list[str]] = Field(
        default_factory=dict,
        description="Words of a transfer: a bank named beside one is the payee's, and the question is about "
                    "our transfer, so `other_institutions` does not apply",
    )


class SettingsFile(_Doc):
    """``settings.yaml``: retrieval settings and what the kiosk says when it does not know."""

    retrieval: RetrievalSettings
    decline: Bilingual = Field(description="Said when no entry is close enough (offers a colleague)")

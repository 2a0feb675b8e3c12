"""The words the ASR homophone repair may write (:mod:`vtm.speech.homophones`), and their content file.

``dialogs/asr_terms.yaml`` holds the kiosk's service words in two lists, ``zh`` and ``en``; the
caller adds bank names and choices from the NLU lexicon with :meth:`DomainTerms.of`. The file is
validated at load, and an error names the file and the entry::

    dialogs/asr_terms.yaml: zh: [3] '挂': write 2 to 8 Chinese characters, nothing else

Usage::

    terms = load_asr_terms(content / "dialogs" / "asr_terms.yaml") + DomainTerms.of(zh=["工商银行"])
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
import zhconv
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from vtm.common import yamlio
from vtm.speech.errors import TermsInvalid

__all__ = ["DomainTerms", "load_asr_terms"]

_ZH_TERM = re.compile(r"[\u4e00-\u9fff]{2,8}")
_EN_TERM = re.compile(r"[a-z][a-z' -]*[a-z]")


@dataclass(frozen=True)
class DomainTerms:
    """The words the repair may write: Mandarin terms (2-8 characters) and lowercase English terms."""

    zh: tuple[str, ...] = ()
    en: tuple[str, ...] = ()

    @classmethod
    def of(cls, zh: Iterable[str] = (), en: Iterable[str] = ()) -> DomainTerms:
        """Keep what can be a term: all-Chinese 2-8 characters; English lowercased, spaces collapsed.

        Anything else (a one-character alias such as 工, a Latin code inside the zh list) is
        dropped here rather than rejected: lexicon entries serve other purposes too.
        """
        zh_terms = [t.strip() for t in zh if _ZH_TERM.fullmatch(t.strip())]
        en_terms = [" ".join(t.lower().split()) for t in en]
        return cls(tuple(dict.fromkeys(zh_terms)), tuple(dict.fromkeys(t for t in en_terms if _EN_TERM.fullmatch(t))))

    def __add__(self, other: DomainTerms) -> DomainTerms:
        return DomainTerms(tuple(dict.fromkeys(self.zh + other.zh)), tuple(dict.fromkeys(self.en + other.en)))


class _TermsDoc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: list[str]
    en: list[str]

    @field_validator("zh")
    @classmethod
    def _chinese(cls, value: list[str]) -> list[str]:
        for i, term in enumerate(value):
            if not _ZH_TERM.fullmatch(term):
                raise ValueError(f"[{i}] {term!r}: write 2 to 8 Chinese characters, nothing else")
            if (simplified := zhconv.convert(term, "zh-cn")) != term:
                raise ValueError(f"[{i}] {term!r}: write it in simplified characters ({simplified})")
        return _unique(value)

    @field_validator("en")
    @classmethod
    def _english(cls, value: list[str]) -> list[str]:
        for i, term in enumerate(value):
            if term != " ".join(term.split()) or not _EN_TERM.fullmatch(term):
                raise ValueError(f"[{i}] {term!r}: write lowercase letters, single spaces, hyphens or apostrophes")
        return _unique(value)


def _unique(value: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    for i, term in enumerate(value):
        if term in seen:
            raise ValueError(f"[{i}] {term!r}: duplicate of [{seen[term]}]; remove one")
        seen[term] = i
    return value


def load_asr_terms(path: Path) -> DomainTerms:
    """Read and validate the service-word file; :class:`TermsInvalid` names the file and the entry."""
    try:
        raw = yamlio.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TermsInvalid(f"{path}: cannot read ({exc.strerror}); restore the file") from exc
    except yaml.YAMLError as exc:
        raise TermsInvalid(f"{path}: not valid YAML: {exc}") from exc
    try:
        doc = _TermsDoc.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise TermsInvalid(f"{path}: {problems}") from exc
    return DomainTerms(tuple(doc.zh), tuple(doc.en))

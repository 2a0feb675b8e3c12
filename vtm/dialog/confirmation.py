"""Explicit consent: what counts as "yes" at a read-back or a warning, from a closed list of phrases.

The intent model's ``affirm`` is not consent: it is a classifier, and classifiers call 等一下,
"hold on", "um" or ``' OR 1=1 --`` a yes with high confidence. Money moves, a card is reported
lost and a warning counts as acknowledged only when the *whole* utterance is made of phrases
from the bank's closed yes-list (``dialogs/dialog.yaml``, ``confirmation``), plus the fillers,
courtesy words and words naming what is confirmed (对 金额名字都对 转吧, "yes that's the right person go
on") listed beside it, with at least one real yes among them; or when the customer
presses the on-screen confirm button. Everything else (hesitation, a question, a mumble, noise)
is not a yes, whatever the classifier says.

Matching is on the squashed text (NFKC, simplified characters, lower case, no spaces or
punctuation) by exact segmentation: 对的 = 对 + 的 is a yes, 对不对 is not (不 is in no list),
可以吗 is not (a question), "yes but wait" is not. Pieces of both languages may mix ("OK 确认").

Usage::

    yes = ExplicitYes.from_content(ConfirmationContent.model_validate(raw))
    yes.match("嗯，对的，转吧", "zh")   # -> "对的转吧" (the phrase heard, for the record)
    yes.match("等一下", "zh")           # -> None
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vtm.compliance.matching import fold as squash  # the one normaliser the watch-list and cue matching use

__all__ = ["ConfirmationContent", "ExplicitYes", "squash"]

Lang = Literal["zh", "en"]


class _PerLang(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    zh: list[str] = Field(min_length=1)
    en: list[str] = Field(min_length=1)

    @field_validator("zh", "en")
    @classmethod
    def _not_empty(cls, phrases: list[str]) -> list[str]:
        for i, phrase in enumerate(phrases):
            if not squash(phrase):
                raise ValueError(f"[{i}] {phrase!r} is empty once spaces and punctuation are removed")
        return phrases


class ConfirmationContent(BaseModel):
    """The ``confirmation`` section of ``dialogs/dialog.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    explicit_yes: _PerLang = Field(description="Phrases that are, on their own, an unmistakable yes")
    acknowledge: _PerLang = Field(
        description="Also accepted after a warning (明白了, understood); not a yes to a read-back")
    fillers: _PerLang = Field(description="Words allowed around a yes (嗯, 请, please) that are never a yes alone")
    details: _PerLang = Field(
        description="Words naming what is confirmed (金额, 是他, the right person): allowed around a yes, "
                    "never a yes alone")


class ExplicitYes:
    """The closed yes-list of one bank, per language, with optional per-transaction additions."""

    def __init__(self, yes: Mapping[str, Iterable[str]], fillers: Mapping[str, Iterable[str]],
                 acknowledge: Mapping[str, Iterable[str]] | None = None) -> None:
        self._yes = {lang: frozenset(squash(p) for p in phrases) for lang, phrases in yes.items()}
        self._fillers = {lang: frozenset(squash(p) for p in phrases) for lang, phrases in fillers.items()}
        self._ack = {lang: tuple(phrases) for lang, phrases in (acknowledge or {}).items()}

    @classmethod
    def from_content(cls, content: ConfirmationContent) -> ExplicitYes:
        fillers, details = content.fillers.model_dump(), content.details.model_dump()
        around = {lang: [*fillers[lang], *details[lang]] for lang in fillers}
        return cls(content.explicit_yes.model_dump(), around, content.acknowledge.model_dump())

    def acknowledges(self, text: str, lang: str) -> str | None:
        """Is ``text`` an explicit acknowledgement of a warning (a yes, or 明白了 / understood)?"""
        return self.match(text, lang, self._ack.get(lang, ()))

    def match(self, text: str, lang: str, extra: Iterable[str] = ()) -> str | None:
        """The squashed utterance if it is an explicit yes in ``lang`` (or in either language), else None.

        ``extra`` adds phrases that are a yes at this particular read-back only (撤回 when the
        question is "revoke this transfer?").
        """
        if "?" in text or "？" in text:
            return None  # "right?" asks; it does not agree
        said = squash(text)
        if not said or len(said) > 60:  # a yes is short; a long turn is something else with a yes in it
            return None
        langs = [lang, *(other for other in self._yes if other != lang)]
        extras = frozenset(squash(p) for p in extra)
        for one in langs:
            yes = self._yes.get(one, frozenset()) | extras
            if _covered(said, yes, self._fillers.get(one, frozenset())):
                return said
        # Code-mixed ("OK 确认", "yeah 对 that's right"): pieces of either language's closed lists.
        if _covered(said, frozenset().union(extras, *self._yes.values()), frozenset().union(*self._fillers.values())):
            return said
        return None


def _covered(said: str, yes: frozenset[str], fillers: frozenset[str]) -> bool:
    """Can ``said`` be cut into pieces from ``yes`` and ``fillers`` with at least one piece from ``yes``?"""
    return _segment(said, yes, fillers)


@lru_cache(maxsize=4096)
def _segment(said: str, yes: frozenset[str], fillers: frozenset[str]) -> bool:
    # reach[i] = (can the prefix said[:i] be covered, does that cover contain a yes)
    reach: list[tuple[bool, bool]] = [(True, False)] + [(False, False)] * len(said)
    lengths = sorted({len(p) for p in yes | fillers})
    for end in range(1, len(said) + 1):
        best = (False, False)
        for size in lengths:
            start = end - size
            if start < 0 or not reach[start][0]:
                continue
            piece = said[start:end]
            if piece in yes:
                best = (True, True)
                break
            if piece in fillers:
                best = (True, best[1] or reach[start][1])
        reach[end] = best
    return reach[-1] == (True, True)

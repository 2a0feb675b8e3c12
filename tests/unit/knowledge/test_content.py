"""The shipped knowledge base: complete, bilingual, short spoken answers, figures from the policy."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from vtm.compliance.pack import default_pack_path, load_pack
from vtm.knowledge.index_doc import INDEX_FILE, render_index
from vtm.knowledge.loader import MAX_SPOKEN_SENTENCES, KnowledgeContent, load_knowledge, sentence_count
from vtm.knowledge.models import Grade

ROOT = Path(__file__).resolve().parents[3]
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def content() -> KnowledgeContent:
    return load_knowledge(ROOT)


def test_the_shipped_knowledge_base_has_at_least_150_entries_across_the_required_topics(
    content: KnowledgeContent,
) -> None:
    assert len(content.entries) >= 150
    topics = Counter(e.topic for e in content.entries)
    for topic in ("card_loss", "cards", "pin", "transfers", "revoke", "statements", "balance", "accounts",
                  "ebanking", "counter", "fraud", "elderly", "kiosk"):
        assert topics[topic] >= 3, topic


def test_every_entry_speaks_both_languages_in_the_right_script(content: KnowledgeContent) -> None:
    for entry in content.entries:
        for part in (entry.title, entry.spoken, entry.screen):
            assert CJK.search(part.zh), (entry.id, part.zh)
            assert not CJK.search(part.en), (entry.id, part.en)
        assert 3 <= len(entry.questions["zh"]) <= 6, entry.id
        assert 3 <= len(entry.questions["en"]) <= 6, entry.id
        assert all(CJK.search(q) for q in entry.questions["zh"]), entry.id
        assert not any(CJK.search(q) for q in entry.questions["en"]), entry.id


def test_every_spoken_answer_has_at_most_two_sentences_and_is_shorter_than_the_screen(
    content: KnowledgeContent,
) -> None:
    for entry in content.entries:
        for lang in ("zh", "en"):
            spoken = getattr(entry.spoken, lang)
            assert sentence_count(spoken, lang) <= MAX_SPOKEN_SENTENCES, (entry.id, lang, spoken)
            assert len(spoken) <= len(getattr(entry.screen, lang)) + 40, (entry.id, lang)


def test_no_placeholder_survives_rendering(content: KnowledgeContent) -> None:
    for entry in content.entries:
        for text in (entry.spoken.zh, entry.spoken.en, entry.screen.zh, entry.screen.en):
            assert not {"{", "}"} & set(text), (entry.id, text)


def test_templated_figures_equal_the_policy_pack_values(content: KnowledgeContent) -> None:
    pack = load_pack(default_pack_path(ROOT))
    params = {rule.id: rule.params for rule in pack.document.rules}
    figures = content.figures
    assert figures["daily_transfer_limit"].render("en") == f"RMB {int(float(params['TRF-LIMIT-DAILY']['max_daily'])):,}"
    assert figures["pin_max_attempts"].render("zh") == str(params["AUTH-PIN-LOCKOUT"]["max_failed_attempts"])
    assert figures["statement_max_months"].render("en") == str(params["STMT-PERIOD-CAP"]["max_months"])
    assert figures["idle_minutes"].render("en") == str(params["SES-TIMEOUT-IDLE"]["max_seconds"] // 60)


def test_the_delay_figure_matches_the_disclosure_the_gate_plays() -> None:
    content = load_knowledge(ROOT)
    hours = content.figures["transfer_delay_hours"].render("en")
    disclosure = load_pack(default_pack_path(ROOT)).prompt("compliance.transfer.delayed_arrival", "en")
    assert f"{hours} hours" in disclosure


def test_grades_sources_and_dates_are_given(content: KnowledgeContent) -> None:
    assert {e.grade for e in content.entries} <= set(Grade)
    assert all(e.source.strip() and e.effective.year >= 2025 for e in content.entries)


def test_related_transactions_exist(content: KnowledgeContent) -> None:
    names = {p.stem for p in (ROOT / "transactions").glob("*.yaml")}
    assert {e.transaction for e in content.entries if e.transaction} <= names


def test_the_committed_index_lists_exactly_the_current_entries(content: KnowledgeContent) -> None:
    committed = (ROOT / "knowledge" / INDEX_FILE).read_text(encoding="utf-8")
    assert committed == render_index(content), "run `vtm kb index --write`"
    assert all(f"`{e.id}`" in committed for e in content.entries)
    assert not any(q in committed for e in content.entries for q in e.questions["en"][1:])


def test_bank_facts_are_marked_as_samples_until_a_bank_replaces_them(content: KnowledgeContent) -> None:
    assert content.sample_facts is True

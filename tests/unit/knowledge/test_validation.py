"""Invalid content fails at load with every problem named by file and path inside it."""

from __future__ import annotations

from pathlib import Path

import pytest
from knowledge_helpers import edit

from vtm.knowledge.errors import KnowledgeContentError
from vtm.knowledge.loader import load_knowledge


def problems(root: Path) -> list[str]:
    with pytest.raises(KnowledgeContentError) as caught:
        load_knowledge(root)
    return [str(p) for p in caught.value.problems]


def test_an_unknown_placeholder_is_named_with_file_entry_and_language(content_copy: Path) -> None:
    cards = content_copy / "knowledge" / "entries" / "pin.yaml"
    edit(cards, "连续输错{policy.pin_max_attempts}次密码就会被锁定。", "连续输错{policy.pin_tries}次密码就会被锁定。")
    found = problems(content_copy)
    assert len(found) == 1
    assert found[0].startswith(f"{cards}: entries[2].spoken.zh: unknown placeholder {{policy.pin_tries}}")
    assert "pin_max_attempts" in found[0]  # the message lists the figures that do exist


def test_a_missing_english_answer_is_named(content_copy: Path) -> None:
    path = content_copy / "knowledge" / "entries" / "balance.yaml"
    edit(path, "      en: Insert your card and enter your PIN, and I show your balance on screen and tell you.\n", "")
    assert problems(content_copy) == [f"{path}: entries[0].spoken.en: Field required"]


def test_a_third_spoken_sentence_is_refused(content_copy: Path) -> None:
    path = content_copy / "knowledge" / "entries" / "balance.yaml"
    three = "and I show your balance. It is on screen. I say it too."
    edit(path, "and I show your balance on screen and tell you.", three)
    found = problems(content_copy)
    assert found == [f"{path}: entries[0].spoken.en: at most 2 sentences are spoken; move the rest to screen"]


def test_an_unknown_transaction_and_a_duplicate_id_are_both_reported(content_copy: Path) -> None:
    path = content_copy / "knowledge" / "entries" / "revoke.yaml"
    first_entry_end = "    transaction: {}\n\n  - id: revoke.deadline"
    edit(path, first_entry_end.format("revoke_transfer"), first_entry_end.format("undo_transfer"))
    edit(path, "  - id: revoke.partial\n", "  - id: revoke.how\n")
    found = problems(content_copy)
    assert any(p.startswith(f"{path}: entries[0].transaction: no transaction 'undo_transfer'") for p in found)
    assert any(p.startswith(f"{path}: entries[5].id: duplicate id 'revoke.how'") for p in found)


def test_too_few_question_variants_are_refused(content_copy: Path) -> None:
    path = content_copy / "knowledge" / "entries" / "balance.yaml"
    edit(path, "[怎么查余额, 我卡里还有多少钱, 帮我看看余额, 查一下账户余额]", "[怎么查余额, 我卡里还有多少钱]")
    found = problems(content_copy)
    assert len(found) == 1
    assert found[0].startswith(f"{path}: entries[0].questions.zh: List should have at least 3")


def test_a_misspelt_field_is_named_as_unknown(content_copy: Path) -> None:
    path = content_copy / "knowledge" / "entries" / "balance.yaml"
    tail = "    grade: B\n    {}: 2025-06-01\n    transaction: balance\n\n  - id: balance.available_vs_ledger"
    edit(path, tail.format("effective"), tail.format("efective"))
    found = problems(content_copy)
    assert f"{path}: entries[0].effective: Field required" in found
    assert any(p.startswith(f"{path}: entries[0].efective: unknown field") for p in found)


def test_broken_yaml_names_the_line(content_copy: Path) -> None:
    path = content_copy / "knowledge" / "entries" / "balance.yaml"
    edit(path, "topic: balance\n", "topic: [balance\n")
    found = problems(content_copy)
    assert len(found) == 1
    assert found[0].startswith(f"{path}: line ")
    assert "not valid YAML" in found[0]


def test_a_figure_naming_a_missing_rule_or_parameter_is_named(content_copy: Path) -> None:
    path = content_copy / "knowledge" / "figures.yaml"
    edit(path, "    rule: TRF-LIMIT-SINGLE\n", "    rule: TRF-LIMIT-ONCE\n")
    edit(path, "    param: max_daily\n", "    param: daily_max\n")
    found = problems(content_copy)
    assert f"{path}: figures.single_transfer_limit: no rule 'TRF-LIMIT-ONCE' in policy.yaml" in found
    assert f"{path}: figures.daily_transfer_limit: rule 'TRF-LIMIT-DAILY' has no parameter 'daily_max'" in found


def test_a_figure_from_a_disabled_rule_is_refused(content_copy: Path) -> None:
    edit(content_copy / "compliance" / "policy.yaml", "    params: {max_months: 12}\n",
         "    params: {max_months: 12}\n    enabled: false\n")
    found = problems(content_copy)
    assert any("figures.statement_max_months: rule 'STMT-PERIOD-CAP' is disabled" in p for p in found)


def test_an_invalid_policy_pack_is_reported_with_its_own_file_and_path(content_copy: Path) -> None:
    policy = content_copy / "compliance" / "policy.yaml"
    edit(policy, "    params: {max_months: 12}\n", "    params: {max_months: -1}\n")
    found = problems(content_copy)
    assert any(p.startswith(f"{policy}: rules[") and ".params.max_months" in p for p in found)


def test_a_flag_figure_cannot_be_quoted(content_copy: Path) -> None:
    path = content_copy / "knowledge" / "entries" / "balance.yaml"
    edit(path, "余额会显示在屏幕上并语音播报。", "余额会显示在屏幕上{policy.realtime_arrival_allowed}。")
    found = problems(content_copy)
    assert len(found) == 1
    assert "entries[4].spoken.zh: unknown placeholder {policy.realtime_arrival_allowed}" in found[0]

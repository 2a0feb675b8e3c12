"""The policy pack loads, its version is its content, and broken packs fail naming file and path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from compliance_helpers import PACK_PATH, REPO
from typer.testing import CliRunner

from vtm.cli import app
from vtm.compliance import PolicyError, load_pack
from vtm.compliance.checks import CHECKS
from vtm.compliance.pack import policy_json_schema


@pytest.fixture
def pack_copy(tmp_path: Path) -> Path:
    for name in ("policy.yaml", "watchlist.yaml", "prompts.yaml", "fraud_exemplars.yaml"):
        shutil.copy(PACK_PATH.parent / name, tmp_path / name)
    return tmp_path / "policy.yaml"


def edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def rule_index(path: Path, rule_id: str) -> int:
    rules = yaml.safe_load(path.read_text(encoding="utf-8"))["rules"]
    return next(i for i, r in enumerate(rules) if r["id"] == rule_id)


def problems_of(path: Path) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        load_pack(path)
    return [str(p) for p in caught.value.problems]


def test_shipped_pack_loads_with_every_check_known(pack_copy: Path) -> None:
    pack = load_pack(pack_copy)
    assert len(pack.rules) >= 20
    assert {r.check.name for r in pack.rules} <= set(CHECKS)
    assert pack.checkpoints["transfer.execute"].authorises is not None


def test_every_prompt_has_zh_and_en_text(pack_copy: Path) -> None:
    pack = load_pack(pack_copy)
    for key in pack.prompts:
        assert pack.prompt(key, "zh")
        assert pack.prompt(key, "en")
        assert pack.prompt(key, "zh") != pack.prompt(key, "en")


def test_version_is_the_content_hash(pack_copy: Path) -> None:
    before = load_pack(pack_copy).version
    assert load_pack(pack_copy).version == before
    idx = rule_index(pack_copy, "TRF-LIMIT-DAILY")
    edit(pack_copy, lambda d: d["rules"][idx]["params"].update(max_daily="40000.00"))
    assert load_pack(pack_copy).version != before


def test_negative_limit_names_file_and_field(pack_copy: Path) -> None:
    idx = rule_index(pack_copy, "TRF-LIMIT-SINGLE")
    edit(pack_copy, lambda d: d["rules"][idx]["params"].update(max_amount="-5"))
    (problem,) = problems_of(pack_copy)
    assert str(pack_copy) in problem
    assert f"rules[{idx}].params.max_amount" in problem
    assert "greater than" in problem


def test_unknown_check_is_rejected_with_the_known_names(pack_copy: Path) -> None:
    idx = rule_index(pack_copy, "TRF-LIMIT-DAILY")
    edit(pack_copy, lambda d: d["rules"][idx].update(check="transfer_daily_limt"))
    (problem,) = problems_of(pack_copy)
    assert f"rules[{idx}].check" in problem
    assert "unknown check" in problem
    assert "transfer_daily_limit" in problem


def test_misspelled_parameter_and_unknown_checkpoint_are_both_reported(pack_copy: Path) -> None:
    idx = rule_index(pack_copy, "TRF-LIMIT-DAILY")

    def change(d: dict) -> None:  # type: ignore[type-arg]
        d["rules"][idx]["params"] = {"max_dayly": "50000.00"}
        d["rules"][0]["applies_to"] = ["transfr.*"]

    edit(pack_copy, change)
    problems = problems_of(pack_copy)
    assert any(f"rules[{idx}].params.max_dayly: unknown field" in p for p in problems)
    assert any("rules[0].applies_to[0]: 'transfr.*' matches no declared checkpoint" in p for p in problems)


def test_face_as_the_only_option_is_rejected(pack_copy: Path) -> None:
    idx = rule_index(pack_copy, "AUTH-LOSS-FORMAL")
    edit(pack_copy, lambda d: d["rules"][idx]["params"].update(any_of=[["id_card", "face"]]))
    (problem,) = problems_of(pack_copy)
    assert f"rules[{idx}].params" in problem
    assert "face must not be the only option" in problem


def test_ask_goes_only_with_a_question_check(pack_copy: Path) -> None:
    asking, warning = rule_index(pack_copy, "FRAUD-PURPOSE-ASK"), rule_index(pack_copy, "FRAUD-CUE-WARN")

    def swap(d: dict) -> None:  # type: ignore[type-arg]
        d["rules"][asking]["effect"], d["rules"][warning]["effect"] = "warn", "ask"

    edit(pack_copy, swap)
    problems = problems_of(pack_copy)
    assert any(f"rules[{asking}].effect" in p and "its effect must be ask" in p for p in problems), problems
    assert any(f"rules[{warning}].effect" in p and "ask needs a question check" in p for p in problems), problems


def test_missing_prompt_translation_names_the_prompts_file(pack_copy: Path) -> None:
    prompts = pack_copy.parent / "prompts.yaml"
    edit(prompts, lambda d: d["prompts"]["compliance.fraud.warning"].pop("en"))
    (problem,) = problems_of(pack_copy)
    assert str(prompts) in problem
    assert "prompts.compliance.fraud.warning.en" in problem


def test_watchlist_entry_on_an_undeclared_list_is_rejected(pack_copy: Path) -> None:
    watch = pack_copy.parent / "watchlist.yaml"
    edit(watch, lambda d: d["entries"][0].update(list="pep"))
    (problem,) = problems_of(pack_copy)
    assert str(watch) in problem
    assert "entries[0].list" in problem


def test_yaml_syntax_error_names_the_line(pack_copy: Path) -> None:
    pack_copy.write_text(pack_copy.read_text(encoding="utf-8") + "\nrules: [\n", encoding="utf-8")
    (problem,) = problems_of(pack_copy)
    assert "line" in problem
    assert "not valid YAML" in problem


def test_committed_schema_is_current() -> None:
    committed = json.loads((REPO / "compliance" / "policy.schema.json").read_text(encoding="utf-8"))
    assert committed == policy_json_schema(), "run: vtm compliance schema > compliance/policy.schema.json"


def test_schema_ties_params_to_the_named_check() -> None:
    schema = policy_json_schema()
    rule = schema["$defs"]["RuleSpec"]
    assert set(rule["properties"]["check"]["enum"]) == set(CHECKS)
    assert len(rule["allOf"]) == len(CHECKS)


def test_cli_validate_reports_problems_and_exits_1(pack_copy: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["compliance", "validate", str(pack_copy)])
    assert ok.exit_code == 0, ok.output
    idx = rule_index(pack_copy, "TRF-LIMIT-SINGLE")
    edit(pack_copy, lambda d: d["rules"][idx]["params"].update(max_amount="lots"))
    bad = runner.invoke(app, ["compliance", "validate", str(pack_copy)])
    assert bad.exit_code == 1
    assert f"rules[{idx}].params.max_amount" in bad.output


def test_cli_explain_lists_the_rules_of_a_checkpoint(pack_copy: Path) -> None:
    result = CliRunner().invoke(
        app, ["compliance", "explain", "transfer.execute", "--pack", str(pack_copy)], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 0, result.output
    pack = load_pack(pack_copy)
    for r in pack.rules_for("transfer.execute"):
        assert r.id in result.output
    assert "STMT-PERIOD-CAP" not in result.output
    unknown = CliRunner().invoke(app, ["compliance", "explain", "transfer.nowhere", "--pack", str(pack_copy)])
    assert unknown.exit_code == 1

"""``vtm rasa export``: the generated domain is valid YAML and names everything the actions use."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from vtm.cli import app
from vtm.config import load_settings
from vtm.dialog.prompts import PromptCatalog
from vtm.rasa.actions import ACTIONS, OPERATION_ACTIONS, response_name
from vtm.rasa.state import IDENTITY_SLOTS, LANGUAGE_SLOT, OUTCOME_SLOT, STATE_SLOT


def _export(tmp_path: Path) -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(app, ["rasa", "export", str(tmp_path / "project")])
    assert result.exit_code == 0, result.output
    return dict(yaml.safe_load((tmp_path / "project" / "domain.yml").read_text(encoding="utf-8")))


def test_exported_domain_names_every_action_slot_and_form(tmp_path: Path) -> None:
    domain = _export(tmp_path)
    assert set(domain["actions"]) == set(ACTIONS)
    assert set(OPERATION_ACTIONS) <= set(domain["actions"])
    definitions = {cls.transaction: cls for cls in ACTIONS.values() if hasattr(cls, "transaction")}
    for name, form in domain["forms"].items():
        assert f"validate_{name}" in domain["actions"]
        for slot in form["required_slots"]:
            assert slot in domain["slots"], slot
            assert f"action_ask_{slot}" in domain["actions"]
            assert hasattr(ACTIONS[f"validate_{name}"], f"validate_{slot}")
    assert set(definitions) == {n.removesuffix("_form") for n in domain["forms"]}
    for slot in (*IDENTITY_SLOTS, STATE_SLOT, OUTCOME_SLOT, LANGUAGE_SLOT):
        assert slot in domain["slots"], slot
    # Identity comes only from the bank's channel: nothing the customer says can fill it.
    assert all(domain["slots"][s]["mappings"] == [{"type": "custom"}] for s in IDENTITY_SLOTS)


def test_every_prompt_the_actions_can_say_is_a_response_in_both_languages(tmp_path: Path) -> None:
    domain = _export(tmp_path)
    prompts = PromptCatalog.load(load_settings().content_root)
    for key in sorted(prompts.keys()):
        variations = domain["responses"][response_name(key)]
        assert {v["condition"][0]["value"] for v in variations} == {"zh", "en"}
        assert all(v["condition"][0]["name"] == LANGUAGE_SLOT for v in variations)
    assert domain["responses"]["utter_transfer_ask_amount"][1]["text"] == prompts.template("transfer.ask_amount", "en")

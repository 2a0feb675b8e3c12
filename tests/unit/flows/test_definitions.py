"""Transaction definitions: strict machines, clear load errors, diagrams kept current."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vtm.dialog.plugins import all_guards
from vtm.dialog.transactions import transactions_of
from vtm.flows.definition import DefinitionError
from vtm.flows.diagrams import diagram_document
from vtm.flows.machine import Flow, FlowError

ROOT = Path(__file__).resolve().parents[3]


def _load(folder: Path = ROOT / "transactions") -> dict:  # type: ignore[type-arg]
    return transactions_of(ROOT, folder)


def test_every_shipped_transaction_loads_and_has_a_current_diagram() -> None:
    definitions = _load()
    assert {"card_loss", "transfer", "statement", "balance", "revoke_transfer"} <= set(definitions)
    for name, definition in definitions.items():
        committed = (ROOT / "docs" / "flows" / f"{name}.md").read_text(encoding="utf-8")
        assert committed == diagram_document(definition), f"run `vtm flows diagrams` to refresh docs/flows/{name}.md"


def test_an_event_with_no_transition_is_an_error_not_a_no_op() -> None:
    flow = Flow(_load()["transfer"], guards=all_guards())
    with pytest.raises(FlowError, match="not allowed"):
        flow.fire("affirm")
    assert flow.state == flow.definition.initial


def test_guards_choose_the_saved_payee_shortcut() -> None:
    flow = Flow(_load()["transfer"], guards=all_guards(),
                slots={"payee_name": "李娜", "account_number": "3100100000002015", "payee_bank": "示例银行"})
    assert flow.fire("proceed") == "validate_payee"
    new_payee = Flow(_load()["transfer"], guards=all_guards(), slots={"payee_name": "王五"})
    assert new_payee.fire("proceed") == "payee_account"


def test_a_broken_definition_names_the_file_and_the_path(tmp_path: Path) -> None:
    shutil.copyfile(ROOT / "transactions" / "balance.yaml", tmp_path / "balance.yaml")
    text = (tmp_path / "balance.yaml").read_text(encoding="utf-8")
    (tmp_path / "balance.yaml").write_text(text.replace("kind: operation", "kind: teleport", 1), encoding="utf-8")
    with pytest.raises(DefinitionError) as error:
        _load(tmp_path)
    assert "balance.yaml" in str(error.value)
    assert "states[1].kind" in str(error.value)


def test_an_unknown_guard_is_rejected_at_load(tmp_path: Path) -> None:
    text = (ROOT / "transactions" / "card_loss.yaml").read_text(encoding="utf-8")
    (tmp_path / "card_loss.yaml").write_text(text.replace("replacement_possible", "moon_is_full", 1), encoding="utf-8")
    with pytest.raises(DefinitionError, match="moon_is_full"):
        _load(tmp_path)


def test_an_unknown_slot_type_is_rejected_at_load(tmp_path: Path) -> None:
    text = (ROOT / "transactions" / "balance.yaml").read_text(encoding="utf-8")
    (tmp_path / "balance.yaml").write_text(text.replace("type: account_number", "type: shoe_size", 1), encoding="utf-8")
    with pytest.raises(DefinitionError, match=r"balance.yaml: slots\[0\].type 'shoe_size' is unknown"):
        _load(tmp_path)


def test_a_transaction_without_a_plug_in_is_rejected_at_load(tmp_path: Path) -> None:
    text = (ROOT / "transactions" / "balance.yaml").read_text(encoding="utf-8")
    (tmp_path / "savings.yaml").write_text(text.replace("name: balance", "name: savings", 1), encoding="utf-8")
    with pytest.raises(DefinitionError, match=r"savings\.yaml: transaction 'savings' has no plug-in"):
        _load(tmp_path)


def test_an_intent_without_training_data_is_rejected_at_load(tmp_path: Path) -> None:
    text = (ROOT / "transactions" / "balance.yaml").read_text(encoding="utf-8")
    (tmp_path / "balance.yaml").write_text(text.replace("intent: check_balance", "intent: check_balanse", 1),
                                           encoding="utf-8")
    with pytest.raises(DefinitionError, match="intent 'check_balanse' has no training data"):
        _load(tmp_path)


def test_a_flow_needs_every_guard_its_definition_names() -> None:
    with pytest.raises(FlowError, match="no guard registered"):
        Flow(_load()["transfer"])


def test_an_unknown_session_fact_is_rejected_at_load(tmp_path: Path) -> None:
    text = (ROOT / "transactions" / "balance.yaml").read_text(encoding="utf-8")
    (tmp_path / "balance.yaml").write_text(text.replace("default_from: inserted_account", "default_from: crystal_ball",
                                                       1), encoding="utf-8")
    with pytest.raises(DefinitionError, match=r"slots\[0\]\.default_from 'crystal_ball' is not a session fact"):
        _load(tmp_path)

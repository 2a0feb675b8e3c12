"""Transaction definitions: strict machines, clear load errors, diagrams kept current."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vtm.dialog.operations import OPERATIONS
from vtm.flows.cli import diagram_document
from vtm.flows.definition import DefinitionError, load_definitions
from vtm.flows.machine import GUARDS, Flow, FlowError

ROOT = Path(__file__).resolve().parents[3]


def _load(folder: Path = ROOT / "transactions") -> dict:  # type: ignore[type-arg]
    return load_definitions(folder, set(GUARDS), set(OPERATIONS))


def test_every_shipped_transaction_loads_and_has_a_current_diagram() -> None:
    definitions = _load()
    assert {"card_loss", "transfer", "statement", "balance", "revoke_transfer"} <= set(definitions)
    for name, definition in definitions.items():
        committed = (ROOT / "docs" / "flows" / f"{name}.md").read_text(encoding="utf-8")
        assert committed == diagram_document(definition), f"run `vtm flows diagrams` to refresh docs/flows/{name}.md"


def test_an_event_with_no_transition_is_an_error_not_a_no_op() -> None:
    flow = Flow(_load()["transfer"])
    with pytest.raises(FlowError, match="not allowed"):
        flow.fire("affirm")
    assert flow.state == flow.definition.initial


def test_guards_choose_the_saved_payee_shortcut() -> None:
    flow = Flow(_load()["transfer"], slots={"payee_name": "李娜", "account_number": "3100100000002015",
                                            "payee_bank": "示例银行"})
    assert flow.fire("proceed") == "validate_payee"
    new_payee = Flow(_load()["transfer"], slots={"payee_name": "王五"})
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

"""The engine knows no transaction: names live in the YAML, the plug-ins, and the enums.

Engine files are ``vtm/dialog`` (without ``plugins/``) and ``vtm/flows``. No string literal in them
may be a transaction name, a transaction's intent, a slot name of any transaction, or an NLU
intent (dialog acts are named through :class:`vtm.dialog.acts.DialogAct`; an enum's own values are
where such names are meant to be written). Adding a transaction (PIN change was added this way)
therefore touches no engine file; the second test says so for each shipped transaction, by name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from vtm.dialog.transactions import nlu_intents

ROOT = Path(__file__).resolve().parents[3]
ENGINE = sorted(p for folder in ("vtm/dialog", "vtm/flows") for p in (ROOT / folder).rglob("*.py")
                if "plugins" not in p.relative_to(ROOT).parts)
MAX_LINES = 300


def _transactions() -> list[dict]:  # type: ignore[type-arg]
    return [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted((ROOT / "transactions").glob("*.yaml"))]


def _literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    enum_values = {id(node) for cls in ast.walk(tree) if isinstance(cls, ast.ClassDef)
                   and any(isinstance(b, ast.Name) and b.id.endswith("Enum") for b in cls.bases)
                   for node in ast.walk(cls)}  # an enum's values are where names are meant to be written
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings and id(node) not in enum_values}


def _names(transaction: dict) -> set[str]:  # type: ignore[type-arg]
    return {transaction["name"], transaction["intent"], *(slot["name"] for slot in transaction["slots"])}


def test_the_engine_has_no_transaction_slot_or_intent_name_in_it() -> None:
    forbidden = set().union(*(_names(t) for t in _transactions())) | nlu_intents(ROOT / "dialogs" / "nlu")
    found = sorted(f"{path.relative_to(ROOT)}: {literal!r}" for path in ENGINE
                   for literal in _literals(path) & forbidden)
    assert not found, found


@pytest.mark.parametrize("transaction", _transactions(), ids=lambda t: t["name"])
def test_adding_a_transaction_touches_no_engine_file(transaction: dict) -> None:  # type: ignore[type-arg]
    """Its name, intent and slots appear only in its YAML, its plug-in, prompts, NLU data and the pack."""
    names = _names(transaction)
    found = sorted(f"{path.relative_to(ROOT)}: {literal!r}" for path in ENGINE
                   for literal in _literals(path) & names)
    assert not found, found
    assert (ROOT / "vtm/dialog/plugins" / f"{transaction['name']}.py").is_file()


def test_no_module_of_the_dialog_is_over_300_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "vtm/dialog").rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, long


def test_every_dialog_act_has_training_data_and_a_missing_one_is_named() -> None:
    from vtm.dialog.acts import DialogAct, IntentCheckError, check_intents

    intents = nlu_intents(ROOT / "dialogs" / "nlu")
    check_intents(intents, {t["name"]: t["intent"] for t in _transactions()})
    with pytest.raises(IntentCheckError, match="dialog act 'repeat' has no training data"):
        check_intents(intents - {DialogAct.REPEAT.value}, {})
    with pytest.raises(IntentCheckError, match="intent 'affirm' is a dialog act"):
        check_intents(intents, {"oops": "affirm"})

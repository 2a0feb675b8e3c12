"""Load the transactions the kiosk offers: each ``transactions/<name>.yaml`` with its plug-in.

The YAML is validated against what the plug-ins register (operations, guards, session facts), the slot types of
``dialogs/dialog.yaml``, and the intents of the NLU training data; every transaction must have a
plug-in (``vtm/dialog/plugins/<name>.py``). Errors name the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from vtm.dialog.acts import IntentCheckError, check_intents
from vtm.dialog.content import DialogContent, load_dialog_content
from vtm.dialog.engine import known_session_facts
from vtm.dialog.plugins import all_guards, all_operations, plugins
from vtm.flows.definition import DefinitionError, TransactionDefinition, load_definitions

__all__ = ["load_transactions", "nlu_intents", "transactions_of"]


def nlu_intents(nlu_folder: Path) -> set[str]:
    """The intents the NLU training data defines (one file per intent and language)."""
    return {path.stem for path in nlu_folder.glob("*/*.yaml") if path.parent.name != "lexicon"}


def load_transactions(folder: Path, slot_types: Iterable[str] | None = None,
                      intents: Iterable[str] | None = None) -> dict[str, TransactionDefinition]:
    definitions = load_definitions(folder, set(all_guards()), set(all_operations()),
                                   set(slot_types) if slot_types is not None else None)
    registered, facts = plugins(), known_session_facts()
    for name, definition in definitions.items():
        if name not in registered:
            raise DefinitionError(f"{folder / name}.yaml: transaction '{name}' has no plug-in "
                                  f"(vtm/dialog/plugins/{name}.py defining PLUGIN)")
        for i, slot in enumerate(definition.slots):
            if slot.default_from is not None and slot.default_from not in facts:
                raise DefinitionError(f"{folder / name}.yaml: slots[{i}].default_from '{slot.default_from}' is not "
                                      f"a session fact; known: {sorted(facts)}")
    if intents is not None:
        try:
            check_intents(intents, {d.name: d.intent for d in definitions.values()})
        except IntentCheckError as exc:
            raise DefinitionError(str(exc)) from exc
    return definitions


def transactions_of(root: Path, folder: Path | None = None,
                    dialog: DialogContent | None = None) -> dict[str, TransactionDefinition]:
    """The transactions of the content under ``root``, checked against its ``dialogs/dialog.yaml`` and NLU
    data (``folder``: another transactions folder, checked against the same; ``dialog``: already loaded)."""
    dialog = dialog or load_dialog_content(root / "dialogs" / "dialog.yaml")
    return load_transactions(folder or root / "transactions", dialog.known_slot_types(),
                             nlu_intents(root / "dialogs" / "nlu"))

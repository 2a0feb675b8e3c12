"""The dialog acts the engine itself acts on, and the check that the NLU data knows them all.

Transactions bring their own intents (``intent:`` in ``transactions/*.yaml``); the engine knows
only these acts: answers (affirm, deny, inform), conversation control (cancel, repeat, help,
ask a person, switch language, goodbye, greeting) and the catch-all ``out_of_scope``. Both sets
are checked at start-up against the intents the NLU training data defines (``dialogs/nlu``), so a
typo in a YAML file or a renamed training file fails loudly instead of never matching.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

__all__ = ["GLOBAL_ACTS", "DialogAct", "IntentCheckError", "check_intents"]


class DialogAct(StrEnum):
    AFFIRM = "affirm"
    DENY = "deny"
    INFORM = "inform"
    CANCEL = "cancel"
    REPEAT = "repeat"
    HELP = "help"
    ASK_HUMAN = "ask_human"
    SWITCH_LANGUAGE = "switch_language"
    GOODBYE = "goodbye"
    GREETING = "greeting"
    OUT_OF_SCOPE = "out_of_scope"


GLOBAL_ACTS = frozenset({DialogAct.CANCEL, DialogAct.REPEAT, DialogAct.HELP, DialogAct.ASK_HUMAN,
                         DialogAct.SWITCH_LANGUAGE, DialogAct.GOODBYE})
"""Acts that mean the same in every state (they may still be an answer to the open question)."""


class IntentCheckError(Exception):
    """The engine's acts or a transaction's intent are not intents of the NLU training data."""


def check_intents(nlu_intents: Iterable[str], transaction_intents: Mapping[str, str]) -> None:
    """Raise :class:`IntentCheckError` naming what is missing; ``transaction_intents``: transaction -> intent."""
    known = set(nlu_intents)
    problems = [f"dialog act '{act.value}' has no training data" for act in DialogAct if act.value not in known]
    problems += [f"transactions/{name}.yaml: intent '{intent}' has no training data in dialogs/nlu"
                 for name, intent in sorted(transaction_intents.items()) if intent not in known]
    taken = [act.value for act in DialogAct]
    problems += [f"transactions/{name}.yaml: intent '{intent}' is a dialog act, not a transaction's intent"
                 for name, intent in sorted(transaction_intents.items()) if intent in taken]
    if problems:
        raise IntentCheckError("; ".join(problems))

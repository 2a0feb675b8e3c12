"""Transactions as plug-ins: the code half of a transaction whose conversation is ``transactions/<name>.yaml``.

A plug-in module in this package defines ``PLUGIN = TransactionPlugin(name=...)`` under the name its
YAML uses and registers what only that transaction knows: its operations (calls to the core bank),
guards (conditions of its transitions), how its slots map to the gate's context, the values of its
read-back, answers given without an entity ("this bank"), and what happens when an ID card is
scanned during it. The engine (policies, :mod:`vtm.dialog.engine`) calls these hooks by the
running flow's name and never names a transaction or slot itself. Modules are discovered, so
adding a transaction adds a file here and touches no engine file (``docs/architecture.md``).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from vtm.flows.machine import Flow, Guard

if TYPE_CHECKING:
    from vtm.compliance.verdict import Permit
    from vtm.dialog.context import TurnContext
    from vtm.dialog.problems import Problem
    from vtm.nlu.types import NluResult

__all__ = ["Operation", "PluginError", "TransactionPlugin", "all_guards", "all_operations", "plugin_for", "plugins"]

Operation = Callable[["TurnContext", Flow, "Permit | None"], str]
"""Call the core bank for the flow's current state; return the flow event (proceed, reject, fail)."""
Values = Callable[["TurnContext", Flow], dict[str, Any]]


class PluginError(Exception):
    """Plug-ins disagree (an operation or guard registered twice) or a transaction has none."""


def _no_values(_ctx: TurnContext, _flow: Flow) -> dict[str, Any]:
    return {}


def _no_problems(_ctx: TurnContext, _flow: Flow, _nlu: NluResult, _filled: list[str]) -> list[Problem]:
    return []


def _answers_nothing(_ctx: TurnContext, _flow: Flow, _text: str) -> dict[str, Any]:
    return {}


def _nothing(_ctx: TurnContext, _flow: Flow) -> None:
    return None


@dataclass(frozen=True)
class TransactionPlugin:
    name: str
    operations: Mapping[str, Operation] = field(default_factory=dict)
    guards: Mapping[str, Guard] = field(default_factory=dict)
    gate_slots: Values = _no_values
    """Fields of :class:`vtm.compliance.context.Slots` for this transaction's checkpoints."""
    core_facts: Values = _no_values
    """Fields of :class:`vtm.compliance.context.CoreFacts` fetched from the core before a checkpoint."""
    card: Callable[[TurnContext, Flow], str | None] = lambda ctx, _flow: ctx.session.card_number
    """The card the transaction is about (its status and PIN lock go to the gate)."""
    read_back: Values = _no_values
    """Placeholder values of the read-back and offers (masked account, amount in words)."""
    ask_values: Values = _no_values
    """Placeholder values of the collect questions."""
    resolve: Callable[[TurnContext, Flow, NluResult, list[str]], list[Problem]] = _no_problems
    """After the utterance's entities filled slots (names in the list, changed in place): resolve
    them against the core bank (a saved payee, a card from an ID number); return what is wrong."""
    answers_in_words: Callable[[TurnContext, Flow, str], dict[str, Any]] = _answers_nothing
    """An answer to the open question with no entity in it (示例银行 for "which bank?"): slot -> value."""
    bare_answer: Callable[[TurnContext, Flow, str], dict[str, Any]] = _answers_nothing
    """The last resort for an utterance that filled nothing (a bare name): slot -> value."""
    wants_offer: Callable[[NluResult], bool] = lambda _nlu: False
    """The utterance asks for what the current offer offers (要打印 to "shall I print a receipt?")."""
    prefill: Callable[[TurnContext, Flow], None] = _nothing
    """Before each state runs: fill what the session already knows (a saved payee once the customer is known)."""
    identity_known: Callable[[TurnContext, Flow], None] = _nothing
    """An ID card was scanned while this transaction runs."""
    session_facts: Mapping[str, Callable[[TurnContext], Any]] = field(default_factory=dict)
    """Values for ``default_from`` in the YAML, by name."""


@cache
def plugins() -> dict[str, TransactionPlugin]:
    """Every plug-in in this package, by transaction name (imported once)."""
    found: dict[str, TransactionPlugin] = {}
    for module in pkgutil.iter_modules(__path__):
        plugin = getattr(importlib.import_module(f"{__name__}.{module.name}"), "PLUGIN", None)
        if isinstance(plugin, TransactionPlugin):
            if plugin.name in found:
                raise PluginError(f"two plug-ins for transaction '{plugin.name}'")
            found[plugin.name] = plugin
    return found


def plugin_for(name: str) -> TransactionPlugin:
    try:
        return plugins()[name]
    except KeyError:
        raise PluginError(f"transaction '{name}' has no plug-in in vtm/dialog/plugins/") from None


def _merged(kind: str, pick: Callable[[TransactionPlugin], Mapping[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for plugin in plugins().values():
        for key, value in pick(plugin).items():
            if key in merged and merged[key] is not value:
                raise PluginError(f"{kind} '{key}' is registered by two plug-ins")
            merged[key] = value
    return merged


def all_operations() -> dict[str, Operation]:
    return _merged("operation", lambda p: p.operations)


def all_guards() -> dict[str, Guard]:
    return _merged("guard", lambda p: p.guards)


def all_session_facts() -> dict[str, Callable[[TurnContext], Any]]:
    return _merged("session fact", lambda p: p.session_facts)

"""Load a :class:`TransactionDefinition` onto the ``transitions`` state-machine library.

Strict by construction: ``auto_transitions`` are off and invalid triggers raise, so an event the
definition does not allow is an error (:class:`FlowError`), never a silent no-op. A trigger whose
guards all fail is also an error: the definition must say where every event leads.

Guards are named, pure functions of the flow's slots and facts (:data:`GUARDS`); the YAML refers
to them by name and the loader rejects unknown names.

Usage::

    flow = Flow(definitions["transfer"])
    flow.fire("proceed")
    flow.state            # -> "validate_payee"
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from transitions import Machine, MachineError
from transitions.extensions import GraphMachine

from vtm.flows.definition import StateKind, StateSpec, TransactionDefinition

__all__ = ["GUARDS", "Flow", "FlowError", "mermaid_diagram"]


class FlowError(Exception):
    """An event was fired that the transaction definition does not allow in the current state."""


Guard = Callable[["Flow"], bool]


def _payee_resolved(flow: Flow) -> bool:
    return bool(flow.slots.get("account_number")) and bool(flow.slots.get("payee_bank"))


def _payee_needs_validation(flow: Flow) -> bool:
    wanted = (flow.slots.get("payee_name"), flow.slots.get("account_number"), flow.slots.get("payee_bank"))
    return flow.facts.get("validated_payee") != wanted


def _arrival_choice_needed(flow: Flow) -> bool:
    # Own accounts at the same bank arrive at once; everyone else gets the 24-hour rule and a choice.
    check = flow.facts.get("payee_check")
    own = bool(check is not None and check.own_account and check.same_bank)
    return not own and not flow.slots.get("arrival")


def _replacement_possible(flow: Flow) -> bool:
    # A new card is issued on a formal report only; a temporary report lapses and keeps the card.
    report = flow.facts.get("loss_report")
    return report is not None and report.kind.value == "formal" and flow.facts.get("replacement") is None


GUARDS: dict[str, Guard] = {
    "payee_resolved": _payee_resolved,
    "payee_needs_validation": _payee_needs_validation,
    "arrival_choice_needed": _arrival_choice_needed,
    "replacement_possible": _replacement_possible,
}


class Flow:
    """One running transaction: its definition, current state, slots and facts.

    ``slots`` hold what the customer said (validated, normalised values); ``facts`` hold what
    operations returned (payee check, transfer result, loss report ...), for guards and prompts.
    """

    state: str  # set by transitions

    def __init__(self, definition: TransactionDefinition, slots: dict[str, Any] | None = None) -> None:
        self.definition = definition
        self.slots: dict[str, Any] = dict(slots or {})
        self.facts: dict[str, Any] = {}
        transitions = [
            {
                "trigger": t.trigger,
                "source": t.source,
                "dest": t.dest,
                "conditions": [self._guard(name) for name in t.conditions],
                "unless": [self._guard(name) for name in t.unless],
            }
            for t in definition.transitions
        ]
        self._machine = Machine(
            model=self,
            states=[s.name for s in definition.states],
            transitions=transitions,
            initial=definition.initial,
            auto_transitions=False,
            ignore_invalid_triggers=False,
            model_attribute="state",
        )

    def _guard(self, name: str) -> Callable[[], bool]:
        guard = GUARDS[name]
        return lambda: guard(self)

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def spec(self) -> StateSpec:
        return self.definition.state(self.state)

    @property
    def finished(self) -> bool:
        return self.spec.kind is StateKind.FINAL

    def can_fire(self, trigger: str) -> bool:
        return trigger in self._machine.get_triggers(self.state)

    def fire(self, trigger: str) -> str:
        """Fire ``trigger``; return the new state. Raise :class:`FlowError` if it is not allowed."""
        try:
            moved = self.trigger(trigger)  # type: ignore[attr-defined]  # added by transitions
        except MachineError as exc:
            raise FlowError(f"{self.name}: event '{trigger}' is not allowed in state '{self.state}'") from exc
        if not moved:
            raise FlowError(f"{self.name}: no guard let event '{trigger}' leave state '{self.state}'")
        return self.state

    def missing_slots(self) -> list[str]:
        return [s for s in self.spec.slots if self.slots.get(s) in (None, "")]


def mermaid_diagram(definition: TransactionDefinition) -> str:
    """A Mermaid state diagram drawn by the library from the definition itself."""

    class _Model:
        pass

    machine = GraphMachine(
        model=_Model(),
        states=[s.name for s in definition.states],
        transitions=[
            {"trigger": t.trigger + (f" [{', '.join(t.conditions)}]" if t.conditions else ""),
             "source": t.source, "dest": t.dest}
            for t in definition.transitions if t.trigger != "cancel"
        ],
        initial=definition.initial,
        auto_transitions=False,
        graph_engine="mermaid",
        title=f"{definition.name} ({definition.title['en']}); any state --cancel--> cancelled",
    )
    return str(machine.get_graph().draw(None))

"""Load a :class:`TransactionDefinition` onto the ``transitions`` state-machine library.

Strict by construction: ``auto_transitions`` are off and invalid triggers raise, so an event the
definition does not allow is an error (:class:`FlowError`), never a silent no-op. A trigger whose
guards all fail is also an error: the definition must say where every event leads.

Guards are named, pure functions of the flow's slots and facts; the transaction plug-ins register
them (:mod:`vtm.dialog.plugins`), the YAML refers to them by name and the loader rejects unknown names.

Usage::

    flow = Flow(definition, guards={"payee_resolved": payee_resolved})
    flow.fire("proceed")
    flow.state            # -> "validate_payee"
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from transitions import Machine, MachineError
from transitions.extensions import GraphMachine

from vtm.flows.definition import StateKind, StateSpec, TransactionDefinition, Trigger

__all__ = ["Flow", "FlowError", "Guard", "mermaid_diagram"]


class FlowError(Exception):
    """An event was fired that the transaction definition does not allow in the current state."""


Guard = Callable[["Flow"], bool]


class Flow:
    """One running transaction: its definition, current state, slots and facts.

    ``slots`` hold what the customer said (validated, normalised values); ``facts`` hold what
    operations returned (payee check, transfer result, loss report ...), for guards and prompts.
    """

    state: str  # set by transitions

    def __init__(self, definition: TransactionDefinition, slots: dict[str, Any] | None = None,
                 guards: Mapping[str, Guard] | None = None) -> None:
        self.definition = definition
        self._guards = dict(guards or {})
        unknown = definition.guard_names() - set(self._guards)
        if unknown:
            raise FlowError(f"{definition.name}: no guard registered for {sorted(unknown)}")
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
        guard = self._guards[name]
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

    def place_at(self, state: str) -> None:
        """Put the flow in ``state`` directly, without firing an event: only for a channel that asks the
        slots in its own order (the Rasa form validating one slot), never in the kiosk's dialog."""
        self.definition.state(state)  # raises for an unknown state
        self._machine.set_state(state, model=self)

    @classmethod
    def restored(cls, definition: TransactionDefinition, state: str, slots: Mapping[str, Any],
                 facts: Mapping[str, Any], guards: Mapping[str, Guard]) -> Flow:
        """A flow rebuilt from a saved session (:mod:`vtm.dialog.snapshot`) exactly where it was.

        Not a step of the dialog: the transaction already reached ``state`` by its transitions,
        its guards and its gate checkpoints before it was saved, so none of them runs again here.
        """
        flow = cls(definition, dict(slots), guards)
        flow.place_at(state)
        flow.facts = dict(facts)
        return flow

    def names(self) -> list[str]:
        """The people named in this transaction (slots marked ``personal_name``), to mask in records."""
        return [str(self.slots[s.name]) for s in self.definition.slots if s.personal_name and self.slots.get(s.name)]

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
            for t in definition.transitions if t.trigger != Trigger.CANCEL
        ],
        initial=definition.initial,
        auto_transitions=False,
        graph_engine="mermaid",
        title=f"{definition.name} ({definition.title['en']}); any state --cancel--> cancelled",
    )
    return str(machine.get_graph().draw(None))

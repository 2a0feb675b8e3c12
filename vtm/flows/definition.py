"""Transaction definitions: the content in ``transactions/*.yaml``, validated at load.

A definition names its slots, its states (each of a *kind* the engine knows how to run), the
transitions between them with named guards, the gate checkpoint of every state, and the prompt
keys for questions, read-back and receipt. The engine (:mod:`vtm.flows.machine`) loads it onto
the ``transitions`` library; nothing about a particular transaction is written in code.

State kinds:

``collect``    ask for ``slots`` until all are filled and valid, then fire ``proceed``; a gate
               ``deny`` whose reason codes are all in ``retry_on`` clears the slots and asks again
``operation``  run ``operation`` (after the gate allows) and fire ``proceed`` / ``reject`` / ``fail``
``confirm``    read back; ``affirm`` goes on, an ``inform`` revises slots (``revise``)
``offer``      a yes/no offer (replacement card, receipt); ``affirm`` may run ``operation``
``final``      the transaction ends with ``outcome``
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vtm.common import yamlio

__all__ = [
    "DefinitionError",
    "Outcome",
    "SlotSpec",
    "StateKind",
    "StateSpec",
    "TransactionDefinition",
    "TransitionSpec",
    "Trigger",
    "load_definitions",
]

class Trigger(StrEnum):
    """The events the engine fires; a definition's transitions use only these."""

    PROCEED = "proceed"
    REJECT = "reject"
    FAIL = "fail"
    AFFIRM = "affirm"
    DENY = "deny"
    REVISE = "revise"
    CANCEL = "cancel"


ENGINE_TRIGGERS = frozenset(t.value for t in Trigger)


class DefinitionError(Exception):
    """A transaction file is invalid; the message names the file, the path inside it and the fix."""


class StateKind(StrEnum):
    COLLECT = "collect"
    OPERATION = "operation"
    CONFIRM = "confirm"
    OFFER = "offer"
    FINAL = "final"


class Outcome(StrEnum):
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    DENIED = "denied"
    HANDED_OFF = "handed_off"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlotSpec(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="What fills it: a slot type of dialogs/dialog.yaml "
                                                                 "(`slot_types`), or `pin_pad` (the PIN pad only)")
    prompt: str = Field(description="Prompt key asked when the slot is missing")
    default_from: str | None = Field(default=None, description="A session fact that fills the slot")
    ask: bool = Field(default=True, description="False: only default_from can fill it; when it cannot, the "
                                                "prompt is said and the transaction fails (nothing to ask for)")
    default: str | None = Field(default=None, description="The value taken when the customer leaves the choice to "
                                                         "the kiosk (都行, 随便, either is fine) or accepts a proposal")
    default_prompt: str | None = Field(default=None, description="Said when the default is taken")
    propose_prompt: str | None = Field(default=None, description="A yes/no question proposing the default, asked "
                                                                 "after a miss (elderly customers) instead of the "
                                                                 "either/or again")
    personal_name: bool = Field(default=False, description="The value is a person's name: masked in every record")
    unavailable_prompt: str | None = Field(default=None, description="Said when the customer does not have what "
                                                                     "is asked for (卡不在身上): the other ways")

    @model_validator(mode="after")
    def _default_prompts(self) -> SlotSpec:
        if (self.default_prompt is not None or self.propose_prompt is not None) and self.default is None:
            raise ValueError("default_prompt and propose_prompt need a default")
        return self


class StateSpec(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: StateKind
    slots: list[str] = []
    checkpoint: str | None = Field(default=None, pattern=r"^[a-z_]+\.[a-z_]+$")
    prompt: str | None = None
    operation: str | None = None
    outcome: Outcome | None = None
    retry_on: list[str] = Field(
        default=[], description="Gate reason codes of a deny that re-ask this collect state's slots instead of "
                                "ending the transaction (a value the customer can change: a period, an amount)")

    @model_validator(mode="after")
    def _kind_fields(self) -> StateSpec:
        need = {StateKind.COLLECT: "slots", StateKind.OPERATION: "operation", StateKind.FINAL: "outcome",
                StateKind.CONFIRM: "prompt", StateKind.OFFER: "prompt"}[self.kind]
        if not getattr(self, need):
            raise ValueError(f"a {self.kind.value} state needs '{need}'")
        if self.retry_on and self.kind is not StateKind.COLLECT:
            raise ValueError("retry_on is only for collect states (it re-asks their slots)")
        return self


class TransitionSpec(_Strict):
    trigger: str
    source: str | list[str]
    dest: str
    conditions: list[str] = []
    unless: list[str] = []

    @property
    def sources(self) -> list[str]:
        return [self.source] if isinstance(self.source, str) else list(self.source)


class TransactionDefinition(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z_]*$")
    intent: str
    title: dict[Literal["zh", "en"], str]
    slots: list[SlotSpec]
    states: list[StateSpec] = Field(min_length=2)
    transitions: list[TransitionSpec] = Field(min_length=1)
    receipt: str | None = Field(default=None, description="Prompt key of the receipt text")
    cancel_confirms: bool = Field(default=False, description="In the read-back, \"cancel it\" means yes (the "
                                                            "transaction is itself a cancellation)")
    question_is_request: bool = Field(
        default=False, description="A question naming this transaction is the request itself (\"how much do I "
                                   "have?\" is a balance enquiry), not a question for the knowledge base")
    follow_up_slots: list[str] = Field(
        default_factory=list, description="Slots a customer may change right after the transaction finished to have "
                                          "it done again with the other values kept (打印出来吧 after a statement "
                                          "shown on screen)")
    confirm_phrases: dict[Literal["zh", "en"], list[str]] = Field(
        default_factory=dict, description="Phrases that are a yes at this read-back only, added to the closed "
                                          "yes-list of dialogs/dialog.yaml (撤回 when it asks \"revoke it?\")")

    def confirm_phrases_for(self, lang: str) -> list[str]:
        return next((list(phrases) for key, phrases in self.confirm_phrases.items() if key == lang), [])

    @model_validator(mode="after")
    def _consistent(self) -> TransactionDefinition:
        state_names = [s.name for s in self.states]
        if len(set(state_names)) != len(state_names):
            raise ValueError("state names must be unique")
        slot_names = {s.name for s in self.slots}
        for state in self.states:
            missing = [s for s in state.slots if s not in slot_names]
            if missing:
                raise ValueError(f"state '{state.name}' collects undeclared slots {missing}")
        for i, tr in enumerate(self.transitions):
            for name in [*tr.sources, tr.dest]:
                if name not in state_names and name != "*":
                    raise ValueError(f"transitions[{i}] names unknown state '{name}'")
            if tr.trigger not in ENGINE_TRIGGERS:
                raise ValueError(f"transitions[{i}].trigger '{tr.trigger}' is not one of {sorted(ENGINE_TRIGGERS)}")
        if not any(s.kind is StateKind.FINAL for s in self.states):
            raise ValueError("a transaction needs at least one final state")
        unknown = [name for name in self.follow_up_slots if name not in slot_names]
        if unknown:
            raise ValueError(f"follow_up_slots names undeclared slots {unknown}")
        return self

    @property
    def initial(self) -> str:
        return self.states[0].name

    def state(self, name: str) -> StateSpec:
        return next(s for s in self.states if s.name == name)

    def slot(self, name: str) -> SlotSpec:
        return next(s for s in self.slots if s.name == name)

    def guard_names(self) -> set[str]:
        return {g for t in self.transitions for g in (*t.conditions, *t.unless)}


def _format_error(path: Path, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
        lines.append(f"{path}: {where or '<root>'}: {err['msg']}")
    return "\n".join(lines)


def load_definitions(folder: Path, known_guards: set[str], known_operations: set[str],
                     known_slot_types: set[str] | None = None) -> dict[str, TransactionDefinition]:
    """Load and validate every ``*.yaml`` in ``folder``; raise :class:`DefinitionError` on the first bad file."""
    definitions: dict[str, TransactionDefinition] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            raw = yamlio.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise DefinitionError(f"{path}: not valid YAML: {exc}") from exc
        try:
            definition = TransactionDefinition.model_validate(raw)
        except ValidationError as exc:
            raise DefinitionError(_format_error(path, exc)) from exc
        unknown = definition.guard_names() - known_guards
        if unknown:
            raise DefinitionError(f"{path}: transitions name unknown guards {sorted(unknown)}; "
                                  f"known: {sorted(known_guards)}")
        for i, slot in enumerate(definition.slots):
            if known_slot_types is not None and slot.type not in known_slot_types:
                raise DefinitionError(f"{path}: slots[{i}].type '{slot.type}' is unknown; "
                                      f"known: {sorted(known_slot_types)}")
        for state in definition.states:
            if state.operation and state.operation not in known_operations:
                raise DefinitionError(f"{path}: states.{state.name}.operation '{state.operation}' is unknown; "
                                      f"known: {sorted(known_operations)}")
        if definition.name in definitions:
            raise DefinitionError(f"{path}: transaction '{definition.name}' is defined twice")
        definitions[definition.name] = definition
    if not definitions:
        raise DefinitionError(f"{folder}: no transaction definitions found")
    return definitions

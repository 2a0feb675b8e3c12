"""From what the customer said to the transaction's slots.

Entities come normalised from the NLU (amounts as Decimal, dates resolved, cards Luhn-checked).
Here they are matched to the slots the running transaction declares, by slot type
(``slot_types`` in ``dialogs/dialog.yaml``); the transaction's plug-in then resolves them against
the core bank where a value names something there (a saved payee, a card). A value that cannot
be used becomes a :class:`Problem` with the prompt key that tells the customer why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from vtm.dialog.plugins import plugin_for
from vtm.dialog.problems import Problem
from vtm.flows.machine import Flow
from vtm.nlu.types import DateRange, Entity, NluResult, SlotName

if TYPE_CHECKING:
    from vtm.dialog.context import TurnContext

__all__ = ["fill_slots", "mark_filled", "slot_types_filled_by"]

SlotTypes = Mapping[str, Sequence[SlotName]]


def slot_types_filled_by(nlu: NluResult, slot_types: SlotTypes) -> set[str]:
    """The slot types the utterance's entities can fill (valid or not: an invalid value is still an answer)."""
    kinds = {e.name for e in nlu.slots}
    return {slot_type for slot_type, fills in slot_types.items() if kinds & set(fills)}


def _entity_value(entity: Entity) -> Any:
    value = entity.value
    if isinstance(value, DateRange):
        return (value.start, value.end)
    return value


def fill_slots(ctx: TurnContext, flow: Flow, nlu: NluResult,
               only_missing: bool = False) -> tuple[list[str], list[Problem]]:
    """Set every slot of ``flow`` the utterance gives a value for; return (slots set, problems)."""
    slot_types: SlotTypes = ctx.services.slot_types
    by_name: dict[SlotName, list[Entity]] = {}
    for entity in nlu.slots:
        by_name.setdefault(entity.name, []).append(entity)
    filled: list[str] = []
    problems: list[Problem] = []
    for slot in flow.definition.slots:
        if only_missing and flow.slots.get(slot.name) is not None:
            continue
        candidates = [e for kind in slot_types.get(slot.type, ()) for e in by_name.get(kind, [])]
        if not candidates:
            continue
        entity = candidates[0]
        if not entity.valid:
            problems.append(Problem(slot.name, f"invalid.{entity.name.value}.{entity.reason}", {},
                                    fallback=f"invalid.{entity.reason}"))
            continue
        flow.slots[slot.name] = _entity_value(entity)
        filled.append(slot.name)
    problems += plugin_for(flow.name).resolve(ctx, flow, nlu, filled)
    mark_filled(ctx, flow, filled)
    return filled, problems


def mark_filled(ctx: TurnContext, flow: Flow, names: Sequence[str]) -> None:
    """Remember when each slot was answered (the gate judges some choices by when they were made)."""
    if names:
        at = flow.facts.setdefault("filled_at", {})
        for name in names:
            at[name] = ctx.now()

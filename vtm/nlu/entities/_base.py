"""Building entities from matches in the normalised text, with spans into the original."""

from __future__ import annotations

from vtm.nlu.normalize import Normalized
from vtm.nlu.types import Entity, InvalidReason, SlotName, SlotValue

__all__ = ["make_entity"]


def make_entity(
    norm: Normalized,
    name: SlotName,
    value: SlotValue,
    start: int,
    end: int,
    *,
    reason: InvalidReason | None = None,
    confidence: float = 1.0,
) -> Entity:
    """An entity for ``norm.text[start:end]``, its span and text taken from the original utterance."""
    o_start, o_end = norm.span(start, end)
    return Entity(
        name=name,
        value=value,
        start=o_start,
        end=o_end,
        text=norm.original[o_start:o_end],
        valid=reason is None,
        reason=reason,
        confidence=confidence,
    )

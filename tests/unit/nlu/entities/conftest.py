"""Fixtures for the entity tests: a fixed 'today' and lookups of one slot's values."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from vtm.nlu.entities import extract_entities
from vtm.nlu.types import Entity

TODAY = date(2024, 5, 15)  # a Wednesday; every expected date below was worked out from it by hand

Entities = Callable[[str, str], list[Entity]]
Values = Callable[[str, str], list[object]]


@pytest.fixture
def entities() -> Entities:
    def find(text: str, name: str) -> list[Entity]:
        return [e for e in extract_entities(text, None, TODAY) if e.name == name]

    return find


@pytest.fixture
def values(entities: Entities) -> Values:
    def find(text: str, name: str) -> list[object]:
        return [e.value for e in entities(text, name)]

    return find

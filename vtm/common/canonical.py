"""Canonical JSON and SHA-256: the one byte form every seal, permit and content hash is computed over.

Sorted keys, no spaces, UTF-8 text (not ``\\u`` escapes), ``Decimal`` as its exact string, dates in
ISO 8601, enums by value, pydantic models by their JSON dump. Two processes that hold equal values
therefore produce equal bytes, and so equal hashes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from pydantic import BaseModel

__all__ = ["canonical_json", "sha256_hex"]


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset):
        return sorted(_default(v) if not isinstance(v, str) else v for v in value)  # type: ignore[type-var]
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    raise TypeError(f"not JSON-serialisable for the audit log: {type(value).__name__}")


def canonical_json(value: object) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 text, Decimal as its exact string."""
    return json.dumps(value, default=_default, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

"""A pydantic validation error as the lines a content editor reads: ``where.in.the.file: what is wrong``."""

from __future__ import annotations

from pydantic import ValidationError

__all__ = ["problems"]


def problems(exc: ValidationError, prefix: str = "") -> list[str]:
    """One line per error: ``prefix`` + the dotted path inside the document + the message."""
    return [f"{prefix}{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]

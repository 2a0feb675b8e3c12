"""YAML parsing for the bank's content files, through libyaml when PyYAML has it.

The content grew to thousands of lines (NLU training lines, knowledge phrasings, fraud exemplars),
and every kiosk, simulator and test process parses it at start: PyYAML's pure-Python safe loader
took 1.3 s for those files, its C safe loader (the same YAML subset, the same ``yaml.YAMLError``
with a ``problem_mark``) 0.1 s.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["safe_load"]

_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` with libyaml's parser when available (only standard YAML tags, no objects)."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader: plain data only

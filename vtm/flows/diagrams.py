"""The Markdown page of a transaction's state diagram (``docs/flows/<name>.md``).

Written by ``vtm flows diagrams`` (:mod:`vtm.cli_commands.flows`); a test keeps the committed pages
equal to what this renders from ``transactions/*.yaml``.
"""

from __future__ import annotations

from vtm.flows.definition import TransactionDefinition
from vtm.flows.machine import mermaid_diagram

__all__ = ["diagram_document"]


def diagram_document(definition: TransactionDefinition) -> str:
    """A Markdown page with the Mermaid state diagram drawn from ``definition`` by the library."""
    return (f"# {definition.name}: {definition.title['en']} / {definition.title['zh']}\n\n"
            f"Generated from `transactions/{definition.name}.yaml` by `vtm flows diagrams`; do not edit.\n\n"
            f"```mermaid\n{mermaid_diagram(definition).strip()}\n```\n")

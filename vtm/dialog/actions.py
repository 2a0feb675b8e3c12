"""What a turn asks the kiosk's hardware to do: typed actions, returned by the dialog, not performed by it.

Policies and transaction plug-ins append these to the turn; at the end of the turn the facade
hands them to the :class:`ActionPerformer` the kiosk wired in (``vtm.kiosk.actions`` drives the
devices; the Rasa bridge forwards them to its channel). What the performer reports back (a
printout's path, a device error) is added to the turn's record before it is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from vtm.devices import RetainReason

__all__ = ["Action", "ActionPerformer", "EjectCard", "PrintDocument", "PrintReceipt", "RetainCard"]


@dataclass(frozen=True)
class RetainCard:
    reason: RetainReason


@dataclass(frozen=True)
class EjectCard:
    pass


@dataclass(frozen=True)
class PrintReceipt:
    """Short lines in the customer's language; ``label`` names the printout in the record."""

    label: str
    lines: tuple[str, ...]
    lang: str


@dataclass(frozen=True)
class PrintDocument:
    """A ready-made document (a statement PDF)."""

    label: str
    name: str
    pdf: bytes

    def __repr__(self) -> str:  # a statement is not for logs
        return f"PrintDocument(label={self.label!r}, name={self.name!r}, pdf=<{len(self.pdf)} bytes>)"


Action = RetainCard | EjectCard | PrintReceipt | PrintDocument


class ActionPerformer(Protocol):
    def __call__(self, actions: Sequence[Action]) -> list[dict[str, Any]]:
        """Perform ``actions`` in order; return one operation record per action
        (``{"operation", "key", "result"}``; ``result`` starts with ``device_error`` when it failed)."""
        ...

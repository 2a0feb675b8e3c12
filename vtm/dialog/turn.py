"""What one turn produced: the kiosk's replies and everything a reviewer needs to see about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vtm.dialog.actions import Action

__all__ = ["Reply", "TurnRecord", "jsonable"]


@dataclass(frozen=True)
class Reply:
    """One thing the kiosk says (and shows). ``interruptible=False``: barge-in must not cut it."""

    key: str
    text: str
    interruptible: bool = True


@dataclass
class TurnRecord:
    turn: int
    user: str | None = None
    device: str | None = None
    intent: str | None = None
    confidence: float | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    replies: list[Reply] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    operations: list[dict[str, Any]] = field(default_factory=list)
    state: str | None = None
    latency_ms: dict[str, float] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)  # for the kiosk's devices, performed after the turn

    @property
    def bot(self) -> list[str]:
        return [r.text for r in self.replies]

    def to_json(self) -> dict[str, Any]:
        """The ``vtm sim --json`` line.

        A contract: turn, user, bot, intent, slots, state, verdicts, operations, latency_ms.
        """
        return {
            "turn": self.turn, "user": self.user, "device": self.device, "bot": self.bot,
            "intent": self.intent, "confidence": self.confidence, "slots": self.slots, "state": self.state,
            "verdicts": self.verdicts, "operations": self.operations,
            "latency_ms": {k: round(v, 2) for k, v in self.latency_ms.items()},
        }


def jsonable(value: Any) -> Any:
    """A slot value in its JSON form (dates as ISO text, periods as lists)."""
    if isinstance(value, tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, date | datetime | timedelta):
        return value.isoformat() if not isinstance(value, timedelta) else value.total_seconds()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


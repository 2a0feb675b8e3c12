"""What the transaction plug-ins share: journalled core calls and core failures in the customer's words.

Mutating operations run only through :class:`~vtm.compliance.guarded.GuardedCoreBanking` with the
permit of the ``allow`` verdict just given for their checkpoint, and are journalled before the core
is called (see :mod:`vtm.records.journal`). A customer-facing failure becomes a prompt; nothing is
swallowed silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from vtm.audit.journal_model import JournalStatus
from vtm.banking.errors import CoreBankingError, NotFound, OutcomeUnknown, Unavailable

if TYPE_CHECKING:
    from vtm.dialog.context import TurnContext
    from vtm.flows.machine import Flow

__all__ = ["card_slot_or_inserted", "core_failure", "journalled"]

T = TypeVar("T")

_GENERAL_FAILURES: dict[type[CoreBankingError], str] = {
    Unavailable: "error.core_unavailable", NotFound: "invalid.unknown_card", OutcomeUnknown: "error.outcome_unknown",
}


def journalled(ctx: TurnContext, operation: str, key: str, params: dict[str, Any], call: Callable[[], T]) -> T:
    """Write the journal entry, call the core, finish the entry with the outcome (unknown stays unknown)."""
    journal = ctx.services.journal
    journal.begin(key, ctx.session.session_id, operation, params)
    try:
        result = call()
    except OutcomeUnknown:
        journal.finish(key, JournalStatus.UNKNOWN)
        raise
    except CoreBankingError as exc:
        journal.finish(key, JournalStatus.FAILED, {"code": exc.code})
        raise
    journal.finish(key, JournalStatus.DONE, result.model_dump(mode="json"))  # type: ignore[attr-defined]
    ctx.record_operation(operation, key, "done")
    return result


def core_failure(ctx: TurnContext, exc: CoreBankingError,
                 prompts: Mapping[type[CoreBankingError], str] | None = None) -> str:
    """Say what went wrong in the customer's terms (the plug-in's own prompts first); return the flow event."""
    ctx.record_operation(type(exc).__name__, None, exc.code)
    table = {**(prompts or {}), **_GENERAL_FAILURES}
    ctx.say(next((key for cls, key in table.items() if isinstance(exc, cls)), "error.generic"))
    return "fail"


def card_slot_or_inserted(ctx: TurnContext, flow: Flow) -> str | None:
    """The card a transaction names in its ``card_number`` slot, else the one in the reader."""
    return flow.slots.get("card_number") or ctx.session.card_number

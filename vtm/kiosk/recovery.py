"""Start-up recovery: settle the operations a killed kiosk left unfinished, without re-posting.

A money movement is journalled before the core is called (:mod:`vtm.records.journal`). If the
process died after the customer confirmed, the journal has an entry still ``pending`` (or
``unknown``). At the next start the kiosk asks the core what happened under that idempotency key
(``transfer_status``) and records it: ``done`` if the core posted it, ``not_executed`` if the core
never saw it. Nothing is sent to the core again, so a transfer is never posted twice.

Only transfers can be looked up by key through the core port; a loss report, replacement or
revocation left unfinished stays ``unknown`` for staff (the core calls are idempotent by key, but
re-sending them is a business decision, not a recovery step).

Usage::

    recovered = recover_unfinished(services.journal, services.core)
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from vtm.banking.port import CoreBanking
from vtm.records.journal import JournalStatus, OperationJournal

__all__ = ["SHARED_JOURNAL_GRACE", "UnknownOperation", "recover_unfinished"]


class UnknownOperation(Exception):
    """The core cannot be asked for this operation's outcome by its key."""


SHARED_JOURNAL_GRACE = timedelta(minutes=5)
"""With replicas sharing the journal, entries younger than this may be another replica's operation
still under way (a turn, including the core's timeout, takes well under a minute): left for later."""


def recover_unfinished(journal: OperationJournal, core: CoreBanking, *,
                       shared: bool = False) -> list[tuple[str, JournalStatus]]:
    """Resolve the unfinished journal entries by asking the core; return ``(key, status)`` per entry.

    ``shared``: other processes may write this journal (PostgreSQL records database); then only
    entries older than :data:`SHARED_JOURNAL_GRACE` are settled. A single process (SQLite, which
    ``vtm serve`` holds alone) settles every entry: nobody else can be mid-operation.
    """

    def status_of(operation: str, key: str) -> dict[str, Any] | None:
        if operation != "transfer":
            raise UnknownOperation(f"no status lookup by key for {operation!r}; left for staff")
        found = core.transfer_status(key)
        return None if found is None else found.model_dump(mode="json")

    return journal.recover(status_of, grace=SHARED_JOURNAL_GRACE if shared else timedelta(0))

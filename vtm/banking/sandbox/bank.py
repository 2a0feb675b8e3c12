"""The sandbox core bank: a real bank core in miniature on SQLAlchemy 2, implementing CoreBanking.

Usage::

    engine = create_bank_engine("sqlite:///bank.sqlite3")
    bank = SandboxBank(engine)                                  # clock: datetime.now(UTC)
    bank = SandboxBank(engine, clock=lambda: fixed_instant, policy=SandboxPolicy(pin_max_attempts=5))
    bank.transfer(TransferRequest(...))
    bank.settle_due()                                           # a scheduler or `vtm bank settle` calls this

The operations are grouped by concern in :mod:`.cards`, :mod:`.transfers` and :mod:`.records`;
the ledger rules are in :mod:`.ledger`, the tables in :mod:`.schema`. Values returned are the
pydantic models of :mod:`vtm.banking.models`, never ORM rows.
"""

from __future__ import annotations

from vtm.banking.sandbox.cards import _CardOps
from vtm.banking.sandbox.records import _RecordOps
from vtm.banking.sandbox.transfers import _TransferOps

__all__ = ["SandboxBank"]


class SandboxBank(_CardOps, _TransferOps, _RecordOps):
    """CoreBanking on a database (SQLite file or PostgreSQL); safe to share between threads and processes.

    ``clock`` returns the current aware instant (tests inject one); ``policy`` holds the tunable rules.
    """

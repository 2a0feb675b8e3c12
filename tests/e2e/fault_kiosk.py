"""Run ``vtm ARGS`` with a fault: SIGKILL this process around a journalled core call (tests only).

``python tests/e2e/fault_kiosk.py before_core|after_core sim --script FILE`` kills the process
right after the operation journal wrote its entry (before the core is called) or right after the
core returned (before the entry is finished): the two moments a crash can leave a movement
unsettled. The hook lives here, not in production code: it wraps the journal and the guarded
core the kiosk builds, then runs the real ``vtm`` command.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from vtm.cli import main
from vtm.compliance.guarded import GuardedCoreBanking
from vtm.records.journal import OperationJournal


def _kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install(point: str) -> None:
    if point == "before_core":
        begin = OperationJournal.begin

        def begin_then_die(self: OperationJournal, *args: Any, **kwargs: Any) -> None:
            begin(self, *args, **kwargs)
            _kill()

        OperationJournal.begin = begin_then_die  # type: ignore[method-assign]
    elif point == "after_core":
        transfer = GuardedCoreBanking.transfer

        def transfer_then_die(self: GuardedCoreBanking, *args: Any, **kwargs: Any) -> Any:
            transfer(self, *args, **kwargs)
            _kill()

        GuardedCoreBanking.transfer = transfer_then_die  # type: ignore[method-assign]
    else:
        raise SystemExit(f"unknown fault point {point!r}: before_core or after_core")


if __name__ == "__main__":
    install(sys.argv[1])
    sys.argv = ["vtm", *sys.argv[2:]]
    main()

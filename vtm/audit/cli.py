"""``vtm audit``: verify the trail, anchor its head, rotate the key, re-seal an old-format chain.

::

    vtm audit verify [--db URL]          # exit 1 naming the first broken entry
    vtm audit anchor                     # write the chain head to the anchor file now
    vtm audit rotate-key                 # retire the current key file (kept) and start a new one
    vtm audit reseal --i-am-authorised --operator NAME --reason TEXT
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from vtm.audit.db import records_engine
from vtm.audit.errors import AuditError
from vtm.audit.log import AuditLog
from vtm.audit.sealing import KeyRotationError, rotate_audit_key
from vtm.common.clitools import settings_or_exit
from vtm.config import Settings
from vtm.keys import KeyFileError

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="The audit trail: verify, anchor, rotate the key, re-seal.")
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
_SHOWN = 10


def _log(settings: Settings, db: str | None = None) -> AuditLog:
    try:
        return AuditLog.from_settings(settings, engine=None if db is None else records_engine(db))
    except (AuditError, KeyFileError) as exc:
        err.print(str(exc))
        raise typer.Exit(2) from exc


@app.command("verify")
def verify(
    db: Annotated[str | None, typer.Option(help="Records database URL (default: settings)")] = None,
) -> None:
    """Check every seal, purge, linked row and anchor; name the first broken entry and exit 1 on any break."""
    report = _log(settings_or_exit(), db).verify()
    if not report.ok:
        first = report.breaks[0]
        where = f"seq {first.seq}" if first.seq is not None else "a linked row or anchor"
        err.print(f"audit trail BROKEN at {where}: {first.problem} ({report.entries} entries read)")
        for more in report.breaks[1:_SHOWN]:
            err.print(f"  also: {'seq ' + str(more.seq) + ': ' if more.seq is not None else ''}{more.problem}")
        if len(report.breaks) > _SHOWN:
            err.print(f"  ... {len(report.breaks) - _SHOWN} more")
        raise typer.Exit(1)
    anchored = "never anchored" if report.anchored_seq is None else f"anchored to seq {report.anchored_seq}"
    out.print(
        f"audit chain intact: {report.entries} entries, head {report.head_seal[:16]}, {anchored}, "
        f"{report.unanchored} after the last anchor"
    )


@app.command("anchor")
def anchor() -> None:
    """Write the chain head to the anchor file now (the kiosk also does so every N entries and per session)."""
    written = _log(settings_or_exit()).anchor()
    if written is None:
        out.print("nothing to anchor: the chain is empty")
        return
    out.print(f"anchored seq {written.last_seq} ({written.count} entries), head {written.head_seal[:16]}")


@app.command("rotate-key")
def rotate_key() -> None:
    """Retire the current audit key file (kept as audit-retired-<id>.key to verify old entries), start a new one."""
    settings = settings_or_exit()
    log = _log(settings)
    log.anchor()  # the last head under the old key
    try:
        old_id, new_id = rotate_audit_key(settings)
    except (KeyRotationError, KeyFileError) as exc:
        err.print(str(exc))
        raise typer.Exit(2) from exc
    rotated = _log(settings)
    rotated.append("key_rotated", {"from_key_id": old_id, "to_key_id": new_id})
    rotated.anchor()
    out.print(f"audit key rotated: {old_id} -> {new_id}")

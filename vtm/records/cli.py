"""``vtm records``: look at recorded sessions and apply the retention period.

::

    vtm records list [--limit 20] [--json]
    vtm records purge [--older-than DAYS]     # default and minimum: settings.retention_days
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from vtm.common.clitools import settings_or_exit

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Session records: list, purge past retention.")


@app.command("list")
def list_cmd(
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per session")] = False,
) -> None:
    """The most recent sessions (masked)."""
    from vtm.records.store import SessionStore

    store = SessionStore.from_settings(settings_or_exit())
    page = store.list_sessions(per_page=limit)
    if as_json:
        for s in page.items:
            print(
                json.dumps(
                    {
                        "session_id": s.session_id,
                        "kiosk_id": s.kiosk_id,
                        "lang": s.lang,
                        "started_at": s.started_at.isoformat(),
                        "outcome": s.outcome,
                        "transactions": list(s.transactions),
                        "turns": s.turn_count,
                        "tags": list(s.tags),
                    },
                    ensure_ascii=False,
                )
            )
        return
    table = Table("session", "kiosk", "lang", "started (UTC)", "outcome", "transactions", "turns")
    for s in page.items:
        table.add_row(
            s.session_id,
            s.kiosk_id,
            s.lang,
            s.started_at.strftime("%Y-%m-%d %H:%M"),
            s.outcome,
            ", ".join(s.transactions),
            str(s.turn_count),
        )
    Console().print(table)
    Console(stderr=True).print(f"{len(page.items)} of {page.total} sessions")


@app.command("purge")
def purge(
    older_than: Annotated[
        int | None,
        typer.Option("--older-than", min=1, help="Days; default and minimum: the retention_days setting"),
    ] = None,
) -> None:
    """Delete audio and personal text of sessions older than DAYS; the purge is itself audited."""
    from vtm.audit import AuditLog, PurgeTooRecent
    from vtm.records.purge import purge_before
    from vtm.records.store import SessionStore

    settings = settings_or_exit()
    days = older_than or settings.retention_days
    if days < settings.retention_days:
        Console(stderr=True).print(
            f"refusing: {days} days is inside the retention period of {settings.retention_days} days",
            highlight=False,
        )
        raise typer.Exit(2)
    store = SessionStore.from_settings(settings)
    audit = AuditLog.from_settings(settings, engine=store.engine)
    cutoff = datetime.now(UTC) - timedelta(days=days)
    try:
        report = purge_before(audit, cutoff, audio_root=settings.audio_dir)
    except PurgeTooRecent as exc:
        Console(stderr=True).print(f"refusing: {exc}", highlight=False)
        raise typer.Exit(2) from exc
    print(
        f"purged {report.sessions} sessions ({report.turns} turns, {report.audio_files} audio files, "
        f"{report.audit_payloads} audit payloads) older than {days} days"
    )

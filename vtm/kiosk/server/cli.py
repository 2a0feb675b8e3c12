"""``vtm serve``: the kiosk service and its screen.

::

    vtm serve [--host 127.0.0.1] [--port 8600]     # the screen at http://HOST:PORT/kiosk
              [--simulate-devices]                # developer mode: the device panel stands in for hardware
              [--demo-bank]                       # reset the embedded sandbox bank to the demo customers first
              [--kiosk VTM-0001 --kiosk VTM-0002] # serve several kiosks (page: /kiosk?kiosk=VTM-0002)
              [--voice]                           # the page's microphone and spoken replies
              [--memory-sessions]                 # sessions in memory only (tests): a restart ends them
              [--parallel-turns 1]                # kiosks' turns at once (1 on SQLite; more on PostgreSQL)
              [--forget-sessions-after 24]        # hours: saved sessions nobody touched are forgotten at start

Sessions are saved after every turn in the records database (``VTM_RECORDS_DATABASE_URL``), so a
restart, or another ``vtm serve`` on the same PostgreSQL database, carries them on. On the default
SQLite database only one ``vtm serve`` may run (a second one refuses to start); see docs/kiosk.md.
"""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta
from typing import Annotated

import typer

from vtm.common.clitools import err, settings_or_exit

__all__ = ["register", "serve"]

_KIOSK_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8600,
    simulate_devices: Annotated[bool, typer.Option(
        "--simulate-devices", help="Developer mode: a device panel on the page (card, PIN pad, ID, face, printer)",
    )] = False,
    demo_bank: Annotated[bool, typer.Option(
        "--demo-bank", help="Reset the embedded sandbox bank to the demo customers (docs/demo-cards.md) first",
    )] = False,
    kiosk: Annotated[list[str] | None, typer.Option(
        "--kiosk", help="A kiosk id this process serves (repeat for several; default VTM_KIOSK_ID)")] = None,
    voice: Annotated[bool, typer.Option(
        "--voice", help="The page's microphone goes through end of turn + ASR; replies are spoken (Whisper, espeak-ng)",
    )] = False,
    reset_after: Annotated[float, typer.Option(
        "--reset-after", min=1, max=600, help="Seconds the goodbye stays on screen")] = 8.0,
    memory_sessions: Annotated[bool, typer.Option(
        "--memory-sessions", help="Keep sessions in this process only (tests): a restart ends them",
    )] = False,
    parallel_turns: Annotated[int, typer.Option(
        "--parallel-turns", min=1, max=16,
        help="Kiosks whose turns run at once in this process (threads); 1 on SQLite (one writer), more on PostgreSQL",
    )] = 1,
    forget_after: Annotated[float, typer.Option(
        "--forget-sessions-after", min=1, max=24 * 30,
        help="Hours after which a saved session nobody touched is ended as abandoned (checked at start and "
             "every 10 minutes; its turns stay recorded)",
    )] = 24.0,
) -> None:
    """The kiosk screen: page at /kiosk, WebSocket at /ws/{kiosk_id}, health at /healthz."""
    import uvicorn

    from vtm.kiosk.bootstrap import bootstrap
    from vtm.kiosk.server.app import create_app
    from vtm.kiosk.server.protocol import DemoCardHint
    from vtm.kiosk.server.service import KioskService, ServiceOptions

    settings = settings_or_exit()
    # One event per line, key=value (session and turn ids; never what the customer said).
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("transitions").setLevel(logging.WARNING)  # a line per state callback: noise, not events
    kiosk_ids = tuple(dict.fromkeys(kiosk or [settings.kiosk_id]))
    bad = [k for k in kiosk_ids if not _KIOSK_ID.fullmatch(k)]
    if bad:
        raise typer.BadParameter(f"kiosk ids are 1-64 letters, digits, '-' or '_': {bad}")
    hints: tuple[DemoCardHint, ...] = ()
    if demo_bank:
        if settings.bank_url:
            err.print("[red]--demo-bank resets the embedded sandbox bank; VTM_BANK_URL points elsewhere[/red]")
            raise typer.Exit(2)
        from vtm.banking.sandbox import create_bank_engine
        from vtm.banking.sandbox.seed import seed_demo_bank

        engine = create_bank_engine(settings.bank_db_url)
        try:
            cards = seed_demo_bank(engine, date.today(), reset=True)  # noqa: DTZ011 - the kiosk's local day
        finally:
            engine.dispose()
        hints = tuple(DemoCardHint(card_number=c.card_number, holder=c.customer_name, id_number=c.id_number)
                      for c in cards)
        err.print(f"demo bank ready: {len(cards)} demo cards (PINs in docs/demo-cards.md)")
    options = ServiceOptions(kiosk_ids=kiosk_ids, simulate_devices=simulate_devices, reset_after_s=reset_after,
                             demo_cards=hints, max_parallel_turns=parallel_turns,
                             forget_after_s=timedelta(hours=forget_after).total_seconds(),
                             shared_journal=not settings.records_db_url.startswith("sqlite"))
    kit = None
    if voice:
        from vtm.kiosk.server.voice import VoiceKit

        kit = VoiceKit.for_settings(settings)
    from vtm.kiosk.server.sessions import InMemorySessionRepository, SessionRepository
    from vtm.records.kiosk_sessions import KioskSessionTable, SessionsInUse

    repository: SessionRepository
    try:
        repository = InMemorySessionRepository() if memory_sessions else KioskSessionTable.from_settings(settings)
    except SessionsInUse as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    service = KioskService(bootstrap(settings), options, repository=repository, voice=kit)
    err.print(f"kiosk screen on http://{host}:{port}/kiosk" + (" (developer mode: simulated devices)"
                                                              if simulate_devices else ""))
    uvicorn.Server(uvicorn.Config(create_app(service), host=host, port=port, log_level="info",
                                  proxy_headers=False, ws_max_size=64 * 1024,
                                  # Small JSON screens and PCM audio on a LAN: compressing each frame
                                  # cost the event loop more than it saved (docs/benchmarks.md).
                                  ws_per_message_deflate=False)).run()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)

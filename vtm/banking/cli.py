"""`vtm bank ...`: seed, show, settle and serve the sandbox core bank.

The database is ``settings.bank_db_url`` (``VTM_BANK_DATABASE_URL``, default an SQLite file in the
data directory). Commands import their dependencies lazily so that ``vtm --help`` stays fast.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from vtm.common.clitools import settings_or_exit

app = typer.Typer(no_args_is_help=True, help="The sandbox core bank.")

out = Console()
if not out.is_terminal:
    out = Console(width=180)  # piped or captured output: do not squeeze the card table into 80 columns
err = Console(stderr=True)


def _engine() -> Any:
    from vtm.banking.sandbox import create_bank_engine

    return create_bank_engine(settings_or_exit().bank_db_url)


def _parse_day(value: str | None) -> date:
    if value is None:
        return date.today()  # noqa: DTZ011 - the operator's calendar day is what seeding is relative to
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter("use YYYY-MM-DD", param_hint="--today") from exc


@app.command()
def seed(
    reset: Annotated[bool, typer.Option("--reset", help="Wipe the bank first.")] = False,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing if the bank has customers.")
    ] = False,
    today: Annotated[
        str | None, typer.Option("--today", help="Seed relative to this day (YYYY-MM-DD).")
    ] = None,
    docs: Annotated[
        Path | None, typer.Option("--docs", help="Also write the demo-card table as Markdown to this file.")
    ] = None,
) -> None:
    """Create the deterministic demo bank and print its demo cards and PINs."""
    from vtm.banking.sandbox.seed import bank_is_empty, demo_cards_markdown, seed_demo_bank

    day = _parse_day(today)
    engine = _engine()
    try:
        if if_empty and not reset and not bank_is_empty(engine):
            err.print("bank already seeded; nothing to do (use --reset to start over)")
            return
        if not reset and not bank_is_empty(engine):
            err.print("[red]the bank already has customers:[/red] use --reset to start over, or --if-empty")
            raise typer.Exit(1)
        cards = seed_demo_bank(engine, day, reset=reset)
    finally:
        engine.dispose()
    table = Table(title=f"示例银行 demo cards (seeded for {day.isoformat()})")
    for column in ("Card number", "PIN", "Holder", "Lang", "Elderly", "Status", "ID number", "Note"):
        table.add_column(column, no_wrap=column in ("Card number", "ID number"))
    for c in cards:
        table.add_row(
            c.card_number,
            c.pin,
            c.customer_name,
            c.language,
            "yes" if c.elderly else "",
            c.status.value,
            c.id_number,
            c.note,
        )
    out.print(table)
    if docs is not None:
        docs.write_text(demo_cards_markdown(cards, day), encoding="utf-8")
        err.print(f"wrote {docs}")


@app.command()
def show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON to stdout.")] = False,
) -> None:
    """Customers, their cards (with effective status) and accounts (with balances)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from vtm.banking.sandbox import SandboxBank
    from vtm.banking.sandbox.ledger import check_ledger
    from vtm.banking.sandbox.schema import CustomerRow

    engine = _engine()
    try:
        bank = SandboxBank(engine)
        with Session(engine) as session:
            customers = session.scalars(select(CustomerRow).order_by(CustomerRow.customer_id)).all()
            ledger = check_ledger(session)
        report: dict[str, Any] = {
            "customers": [
                {
                    "customer_id": c.customer_id,
                    "name": c.name,
                    "id_number": c.id_number,
                    "phone": c.phone,
                    "email": c.email,
                    "birth_date": c.birth_date.isoformat(),
                    "language": c.language,
                    "cards": [card.model_dump(mode="json") for card in bank.cards_of_customer(c.customer_id)],
                    "accounts": [a.model_dump(mode="json") for a in bank.list_accounts(c.customer_id)],
                }
                for c in customers
            ],
            "ledger": {
                "balanced": ledger.ok,
                "total_fen": ledger.total_fen,
                "postings": ledger.posting_count,
            },
        }
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    table = Table(title="示例银行 sandbox bank")
    for column in ("Customer", "Name", "Card", "Status", "Account", "Balance (CNY)"):
        table.add_column(column)
    for c in report["customers"]:
        for a in c["accounts"]:
            statuses = {card["card_number"]: card["status"] for card in c["cards"]}
            cards = a["card_numbers"] or [""]
            table.add_row(
                c["customer_id"],
                c["name"],
                cards[0],
                statuses.get(cards[0], ""),
                a["account_number"],
                a["balance"],
            )
    out.print(table)
    out.print(f"ledger balanced: {report['ledger']['balanced']} ({report['ledger']['postings']} postings)")


@app.command()
def settle() -> None:
    """Settle delayed transfers whose execution time has passed."""
    from vtm.banking.sandbox import SandboxBank

    engine = _engine()
    try:
        count = SandboxBank(engine).settle_due()
    finally:
        engine.dispose()
    out.print(f"settled {count} delayed transfer(s)")


# --- `vtm bank serve` (HTTP server) is added below by the HTTP module's owner. ---------------------


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on (non-loopback needs TLS and provisioned keys).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8470,
    settle_every: Annotated[
        float, typer.Option(min=0, help="Seconds between settlement runs of due transfers (0: never).")
    ] = 60.0,
    ssl_certfile: Annotated[
        Path | None, typer.Option("--ssl-certfile", exists=True, dir_okay=False, help="TLS certificate (PEM).")
    ] = None,
    ssl_keyfile: Annotated[
        Path | None, typer.Option("--ssl-keyfile", exists=True, dir_okay=False, help="TLS private key (PEM).")
    ] = None,
) -> None:
    """Serve the sandbox bank over HTTP(S) for `HttpCoreBanking` and gateways; every route but /health
    needs a kiosk-signed request (keys: VTM_BANK_API_KEY / <data_dir>/keys/bank_api.key, VTM_BANK_API_KIOSKS)."""
    import dataclasses
    import logging
    import threading

    import uvicorn

    from vtm.banking.credentials import CredentialConfigError, kiosk_key_table
    from vtm.banking.http_auth import AuthDenied
    from vtm.banking.http_server import create_app
    from vtm.banking.sandbox import SandboxBank

    settings = settings_or_exit()
    if (ssl_certfile is None) != (ssl_keyfile is None):
        err.print("[red]--ssl-certfile and --ssl-keyfile go together[/red]")
        raise typer.Exit(2)
    tls = ssl_certfile is not None
    loopback = _is_loopback(host)
    if not loopback and not tls:
        err.print(f"[red]refusing to serve the core bank on {host} without TLS:[/red] pass --ssl-certfile and "
                  "--ssl-keyfile, or listen on 127.0.0.1")
        raise typer.Exit(2)
    try:
        # Off the loopback interface the keys must be provisioned: no dev key is made up on the spot.
        kiosks = kiosk_key_table(settings, create=loopback)
    except CredentialConfigError as exc:
        err.print(f"[red]no usable kiosk credentials for the core-bank API:[/red] {exc}")
        raise typer.Exit(2) from exc
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log = logging.getLogger("vtm.banking.serve")
    engine = _engine()
    bank = SandboxBank(engine)
    stop = threading.Event()

    def settle_loop() -> None:
        # The bank's own background step: delayed transfers settle at execute_at without a kiosk.
        while not stop.wait(settle_every):
            try:
                count = bank.settle_due()
            except Exception:  # logged, and the next run tries again; the server keeps serving
                log.exception("event=settle_failed")
            else:
                if count:
                    log.info("event=settled count=%d", count)

    if settle_every > 0:
        threading.Thread(target=settle_loop, name="settle", daemon=True).start()
    # Refused requests go into the audit chain of this data directory as well as the log.
    from vtm.audit import AuditLog

    audit_log = AuditLog.from_settings(settings)

    def audit_refusal(denied: AuthDenied) -> None:
        try:
            audit_log.append("bank_api_denied", dataclasses.asdict(denied))
        except Exception:  # the refusal stands and is logged; a records outage must not open the door
            log.exception("event=bank_api_denied_not_audited route=%s", denied.route)

    scheme = "https" if tls else "http"
    err.print(f"sandbox core bank on {scheme}://{host}:{port}  (signed requests only; kiosks: "
              f"{', '.join(sorted(kiosks.kiosk_ids))})")
    try:
        # No access log: it would print concrete paths (account numbers); the app logs route templates.
        uvicorn.run(create_app(bank, kiosks=kiosks, audit=audit_refusal), host=host, port=port, access_log=False,
                    log_level="info",
                    ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
                    ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None)
    finally:
        stop.set()
        engine.dispose()


def _is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``; any other name or address counts as reachable."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False

"""``vtm review``: the staff review web app.

::

    vtm review [--host 127.0.0.1] [--port 8700] [--demo]   # serve (``--demo``: seed demo sessions first)
               [--trusted-proxy 10.0.0.5 ...]           # believe X-Forwarded-For only from these
               [--login-limit-user 5] [--login-limit-address 20] [--login-window-min 15]
    vtm review create-admin USERNAME [--password-stdin]     # the first admin (prompted password)
    vtm review seed-demo                                    # record the demo sessions only
    vtm review export-kb-cases FILE [--force]               # answers marked wrong -> CSV for `vtm kb evaluate`
"""

from __future__ import annotations

import getpass
import logging
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from vtm.common.clitools import settings_or_exit

__all__ = ["app"]

app = typer.Typer(invoke_without_command=True, help="Staff review web app.")
err = Console(stderr=True)


@app.callback()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8700,
    demo: Annotated[bool, typer.Option("--demo", help="Record the demo sessions before serving")] = False,
    secure_cookies: Annotated[
        bool, typer.Option("--secure-cookies/--no-secure-cookies", help="Mark cookies Secure (behind HTTPS)")
    ] = False,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            "--trusted-proxy",
            help="IP address or network of a reverse proxy whose X-Forwarded-For is believed (repeat for more)",
        ),
    ] = None,
    login_limit_user: Annotated[
        int, typer.Option("--login-limit-user", min=1, max=1000, help="Failed logins per username per window")
    ] = 5,
    login_limit_address: Annotated[
        int, typer.Option("--login-limit-address", min=1, max=10000, help="Failed logins per address per window")
    ] = 20,
    login_window_min: Annotated[
        int, typer.Option("--login-window-min", min=1, max=1440, help="Login rate-limit window, minutes")
    ] = 15,
) -> None:
    """Serve the review app (without a sub-command)."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from vtm.review.app import ReviewOptions, create_app
    from vtm.review.login_limits import LoginLimits
    from vtm.review.proxies import server_config

    try:
        options = ReviewOptions(
            secure_cookies=secure_cookies,
            trusted_proxies=tuple(trusted_proxy or ()),
            login_limits=LoginLimits(login_limit_user, login_limit_address, timedelta(minutes=login_window_min)),
        )
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    settings = settings_or_exit()
    # The app's events (logins, throttling, tag removals) are key=value lines on stderr.
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if demo:
        _seed(settings)
    application = create_app(settings, options)
    err.print(f"review app on http://{host}:{port}/ (create the first admin with `vtm review create-admin`)")
    uvicorn.Server(server_config(application, host=host, port=port)).run()


@app.command("create-admin")
def create_admin(
    username: Annotated[str, typer.Argument(help="Login name")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
    role: Annotated[str, typer.Option("--role", help="admin, supervisor or reviewer")] = "admin",
) -> None:
    """Create a staff user (the first admin, typically); the password is prompted, never an argument."""
    from vtm.review.users import Role, UserError, UserStore

    settings = settings_or_exit()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        users = UserStore.from_url(settings.records_db_url)
        users.create(username, password, Role(role))
    except (UserError, ValueError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    err.print(f"created {role} {username!r}")


def _cli_user() -> str:
    """Who ran the command, as the access log and the audit chain name them: ``cli:<login name>``."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no login name in the environment nor in the password database
        name = "unknown"
    return f"cli:{name}"[:64]


@app.command("export-kb-cases")
def export_kb_cases_command(
    file: Annotated[
        Path, typer.Argument(help="CSV to write (columns text,lang,entry,kind, as tests/data/kb/blind.csv)")
    ],
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists")] = False,
) -> None:
    """Write the knowledge answers supervisors marked wrong as test cases for `vtm kb evaluate` (logged, audited)."""
    from vtm.audit import AuditLog
    from vtm.records.answer_marks import AnswerMarkStore
    from vtm.records.store import SessionStore
    from vtm.review.kb_cases import export_kb_cases

    if file.exists() and not force:
        err.print(f"{file} exists; --force overwrites it", highlight=False)
        raise typer.Exit(1)
    if not file.parent.is_dir():
        err.print(f"no folder {file.parent}", highlight=False)
        raise typer.Exit(1)
    settings = settings_or_exit()
    store = SessionStore.from_settings(settings)
    audit = AuditLog.from_settings(settings, engine=store.engine)
    # Logged and audited before the file is written, as the web app does before the download.
    export = export_kb_cases(AnswerMarkStore(audit), store, audit, user=_cli_user(), role="cli")
    try:
        file.write_text(export.csv_text, encoding="utf-8", newline="")
    except OSError as exc:
        err.print(f"cannot write {file}: {exc.strerror or exc}", highlight=False)
        raise typer.Exit(1) from exc
    err.print(f"wrote {export.cases} test cases ({export.marks} marked answers) to {file}", highlight=False)


@app.command("seed-demo")
def seed_demo() -> None:
    """Run the demo conversations through the real dialog and record them (idempotent per run)."""
    _seed(settings_or_exit())


def _seed(settings: object) -> None:
    from vtm.config import Settings
    from vtm.review.demo import seed_demo_sessions

    assert isinstance(settings, Settings)
    ids = seed_demo_sessions(settings)
    err.print(f"recorded {len(ids)} demo sessions")

"""``vtm rasa``: export a Rasa domain and serve the custom actions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from vtm.common.clitools import settings_or_exit

__all__ = ["app"]

app = typer.Typer(help="Serve the kiosk's transactions as Rasa custom actions (rasa-sdk).", no_args_is_help=True)


@app.command("export")
def export(folder: Annotated[Path, typer.Argument(help="Rasa project folder to write domain.yml into")]) -> None:
    """Write DIR/domain.yml (slots, forms, zh/en responses, actions) from transactions/ and dialogs/."""
    from vtm.dialog.prompts import PromptCatalog
    from vtm.rasa.actions import ACTIONS
    from vtm.rasa.domain import export_domain

    settings = settings_or_exit()
    from vtm.dialog.transactions import transactions_of

    definitions = transactions_of(settings.content_root)
    path = export_domain(folder, definitions, PromptCatalog.load(settings.content_root), list(ACTIONS))
    typer.echo(f"wrote {path}")


@app.command("serve")
def serve(port: Annotated[int, typer.Option(help="Port of the action server")] = 5055) -> None:
    """Run the rasa-sdk action server with vtm.rasa.actions (python -m rasa_sdk --actions vtm.rasa.actions)."""
    command = [sys.executable, "-m", "rasa_sdk", "--actions", "vtm.rasa.actions", "--port", str(port)]
    raise typer.Exit(subprocess.call(command))  # noqa: S603 - a fixed argv: our interpreter and module

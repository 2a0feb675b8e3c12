"""`vtm bank ...`: seed, show and serve the sandbox core bank."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="The sandbox core bank.")

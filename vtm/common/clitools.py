"""What every ``vtm`` sub-command shares: settings loaded once, and the console for errors.

Lives in the leaf package so that each area's ``cli`` module can import it at module level:
the root command (:mod:`vtm.cli`) imports those modules, so they must never import it back.

Usage::

    from vtm.common.clitools import err, settings_or_exit

    settings = settings_or_exit()   # exit code 2 with a readable message if the configuration is broken
"""

from __future__ import annotations

import typer
from rich.console import Console

from vtm.config import ConfigError, Settings, load_settings

__all__ = ["err", "settings_or_exit"]

err = Console(stderr=True)
"""Standard error, for problems and progress; standard output stays for the command's result."""


def settings_or_exit() -> Settings:
    """Load settings once; a broken configuration ends the command with a clear message."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc
    settings.ensure_dirs()
    return settings

"""``vtm flows ...``: validate the transaction definitions and draw their diagrams.

A definition is valid only against its plug-in (a state may name only an operation a transaction
plug-in registers), so these commands sit above :mod:`vtm.dialog`, not in :mod:`vtm.flows`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vtm.common.clitools import err, settings_or_exit
from vtm.flows.definition import DefinitionError, TransactionDefinition
from vtm.flows.diagrams import diagram_document

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Transaction definitions (transactions/*.yaml).")


def _definitions(root: Path) -> dict[str, TransactionDefinition]:
    # Imported when a command runs, not when `vtm` builds its command tree: the dialog is slow to load.
    from vtm.dialog.transactions import transactions_of

    return transactions_of(root)


@app.command("diagrams")
def diagrams(
    out: Annotated[Path, typer.Option("--out", help="Folder for the Markdown pages")] = Path("docs/flows"),
) -> None:
    """Write one diagram page per transaction into ``--out``."""
    out.mkdir(parents=True, exist_ok=True)
    for name, definition in sorted(_definitions(settings_or_exit().content_root).items()):
        (out / f"{name}.md").write_text(diagram_document(definition), encoding="utf-8")
        typer.echo(f"wrote {out / f'{name}.md'}")


@app.command("validate")
def validate() -> None:
    """Load every definition; exit 1 with the file, the path inside it and the problem if one is invalid."""
    try:
        loaded = _definitions(settings_or_exit().content_root)
    except DefinitionError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    typer.echo(f"{len(loaded)} transaction definitions are valid: {', '.join(sorted(loaded))}")

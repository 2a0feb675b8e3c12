"""`vtm flows ...`: validate the transaction definitions and draw their diagrams."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vtm.flows.definition import TransactionDefinition, load_definitions
from vtm.flows.machine import GUARDS, mermaid_diagram

__all__ = ["app", "diagram_document"]

app = typer.Typer(no_args_is_help=True, help="Transaction definitions (transactions/*.yaml).")


def _definitions(root: Path) -> dict[str, TransactionDefinition]:
    from vtm.dialog.operations import OPERATIONS

    return load_definitions(root / "transactions", set(GUARDS), set(OPERATIONS))


def diagram_document(definition: TransactionDefinition) -> str:
    """A Markdown page with the Mermaid state diagram drawn from ``definition`` by the library."""
    return (f"# {definition.name}: {definition.title['en']} / {definition.title['zh']}\n\n"
            f"Generated from `transactions/{definition.name}.yaml` by `vtm flows diagrams`; do not edit.\n\n"
            f"```mermaid\n{mermaid_diagram(definition).strip()}\n```\n")


@app.command("diagrams")
def diagrams(
    out: Annotated[Path, typer.Option("--out", help="Folder for the Markdown pages")] = Path("docs/flows"),
) -> None:
    """Write one diagram page per transaction into ``--out``."""
    from vtm.cli import settings_or_exit

    out.mkdir(parents=True, exist_ok=True)
    for name, definition in sorted(_definitions(settings_or_exit().content_root).items()):
        (out / f"{name}.md").write_text(diagram_document(definition), encoding="utf-8")
        typer.echo(f"wrote {out / f'{name}.md'}")


@app.command("validate")
def validate() -> None:
    """Load every definition; exit 1 with the file, the path inside it and the problem if one is invalid."""
    from vtm.cli import err, settings_or_exit
    from vtm.flows.definition import DefinitionError

    try:
        loaded = _definitions(settings_or_exit().content_root)
    except DefinitionError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    typer.echo(f"{len(loaded)} transaction definitions are valid: {', '.join(sorted(loaded))}")

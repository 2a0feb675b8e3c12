"""``vtm compliance ...`` (for compliance officers); ``vtm audit`` lives in :mod:`vtm.audit.cli`.

vtm compliance validate [PATH]        check a pack; exit 1 naming file and path of every problem
vtm compliance explain CHECKPOINT     the rules that apply at a checkpoint, as a table
    [--say TEXT]                      ... and how the meaning-based fraud rules judge TEXT
vtm compliance checkpoints            every checkpoint the pack declares
vtm compliance schema                 JSON Schema of policy.yaml (committed as compliance/policy.schema.json)

``explain`` is added by :mod:`vtm.cli_commands.compliance`: its ``--say`` wires the kiosk's encoder,
a layer above this one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from vtm.common.clitools import settings_or_exit

if TYPE_CHECKING:
    from vtm.compliance.pack import PolicyPack

__all__ = ["PackOption", "app", "load_pack_or_exit"]

app = typer.Typer(no_args_is_help=True, help="Compliance policy pack: validate, explain, schema.")

out = Console()
err = Console(stderr=True)

PackOption = Annotated[Path | None, typer.Option("--pack", help="policy.yaml (default: content dir)")]


def _pack_path(path: Path | None) -> Path:
    if path is not None:
        return path
    from vtm.compliance.pack import default_pack_path

    return default_pack_path(settings_or_exit().content_root)


def load_pack_or_exit(path: Path | None) -> PolicyPack:
    """The pack at ``path`` (default: the content dir's); exit 1 listing every problem if it is invalid."""
    from vtm.compliance.errors import PolicyError
    from vtm.compliance.pack import load_pack

    try:
        return load_pack(_pack_path(path))
    except PolicyError as exc:
        for problem in exc.problems:
            err.print(f"[red]error[/red] {problem}", markup=True, highlight=False, soft_wrap=True)
        err.print(f"{len(exc.problems)} problem(s)")
        raise typer.Exit(1) from exc


@app.command("validate")
def validate(path: Annotated[Path | None, typer.Argument(help="policy.yaml to check")] = None) -> None:
    """Validate a policy pack (policy.yaml and the files it names)."""
    pack = load_pack_or_exit(path)
    out.print(
        f"ok: {pack.path} pack={pack.document.pack} edition={pack.document.edition} "
        f"version={pack.short_version} rules={len(pack.rules)} checkpoints={len(pack.checkpoints)}"
    )


@app.command("checkpoints")
def checkpoints(pack_path: PackOption = None) -> None:
    """List every checkpoint the pack declares (flows validate their steps against it)."""
    pack = load_pack_or_exit(pack_path)
    for cid, spec in pack.checkpoints.items():
        suffix = f"  -> authorises {spec.authorises.value}" if spec.authorises else ""
        out.print(f"{cid}{suffix}", highlight=False)


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema of policy.yaml."""
    from vtm.compliance.pack import policy_json_schema

    typer.echo(json.dumps(policy_json_schema(), indent=2, ensure_ascii=False))


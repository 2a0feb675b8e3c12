"""``vtm compliance ...`` (for compliance officers) and ``vtm audit ...`` (for auditors).

vtm compliance validate [PATH]        check a pack; exit 1 naming file and path of every problem
vtm compliance explain CHECKPOINT     the rules that apply at a checkpoint, as a table
vtm compliance checkpoints            every checkpoint the pack declares
vtm compliance schema                 JSON Schema of policy.yaml (committed as compliance/policy.schema.json)
vtm audit verify [--db URL]           walk the hash chain; exit 1 naming the first broken entry
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from vtm.compliance.pack import PolicyPack

__all__ = ["app", "audit_app"]

app = typer.Typer(no_args_is_help=True, help="Compliance policy pack: validate, explain, schema.")
audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log.")

out = Console()
err = Console(stderr=True)

PackOption = Annotated[Path | None, typer.Option("--pack", help="policy.yaml (default: content dir)")]


def _pack_path(path: Path | None) -> Path:
    if path is not None:
        return path
    from vtm.cli import settings_or_exit
    from vtm.compliance.pack import default_pack_path

    return default_pack_path(settings_or_exit().content_root)


def _load(path: Path | None) -> PolicyPack:
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
    pack = _load(path)
    out.print(
        f"ok: {pack.path} pack={pack.document.pack} edition={pack.document.edition} "
        f"version={pack.short_version} rules={len(pack.rules)} checkpoints={len(pack.checkpoints)}"
    )


@app.command("explain")
def explain(
    checkpoint: str,
    pack_path: PackOption = None,
    texts: Annotated[bool, typer.Option("--texts", help="Show what the customer hears")] = False,
    lang: Annotated[str, typer.Option(help="Prompt language for --texts: zh or en")] = "en",
) -> None:
    """List the rules that apply at CHECKPOINT (e.g. transfer.execute), with figures and prompts."""
    pack = _load(pack_path)
    spec = pack.checkpoints.get(checkpoint)
    if spec is None:
        err.print(f"unknown checkpoint {checkpoint!r}; known: {', '.join(pack.checkpoints)}")
        raise typer.Exit(1)
    title = f"{checkpoint} ({spec.description})" + (
        f" authorises {spec.authorises.value}" if spec.authorises else ""
    )
    table = Table(title=title, caption=f"policy version {pack.short_version}", show_lines=True)
    table.add_column("rule", no_wrap=True)  # a rule id is looked up as a whole: never folded
    for column in ("effect", "check and figures", "reason", "prompt", "source"):
        table.add_column(column, overflow="fold")
    for rule in pack.rules_for(checkpoint):
        figures = json.dumps(rule.params.model_dump(mode="json", exclude_defaults=False), ensure_ascii=False)
        key = rule.spec.prompt
        hears = "-" if key is None else (pack.prompt(key, lang) if texts else key)
        mark = "" if rule.spec.interruptible else " (must be heard in full)"
        table.add_row(
            rule.id,
            rule.effect.value + mark,
            f"{rule.check.name} {figures}",
            rule.spec.reason_code,
            hears,
            f"{rule.spec.source} [{rule.spec.grade}]",
        )
    out.print(table)


@app.command("checkpoints")
def checkpoints(pack_path: PackOption = None) -> None:
    """List every checkpoint the pack declares (flows validate their steps against it)."""
    pack = _load(pack_path)
    for cid, spec in pack.checkpoints.items():
        suffix = f"  -> authorises {spec.authorises.value}" if spec.authorises else ""
        out.print(f"{cid}{suffix}", highlight=False)


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema of policy.yaml."""
    from vtm.compliance.pack import policy_json_schema

    typer.echo(json.dumps(policy_json_schema(), indent=2, ensure_ascii=False))


@audit_app.command("verify")
def verify(
    db: Annotated[str | None, typer.Option(help="Records database URL (default: settings)")] = None,
) -> None:
    """Walk the audit chain; name the first broken entry and exit 1 on any break."""
    from vtm.records.audit import AuditLog

    if db is None:
        from vtm.cli import settings_or_exit

        db = settings_or_exit().records_db_url
    report = AuditLog.from_url(db).verify()
    if not report.ok:
        err.print(
            f"audit chain BROKEN at seq {report.broken_seq}: {report.problem} "
            f"({report.entries} entries read)",
            highlight=False,
        )
        raise typer.Exit(1)
    out.print(f"audit chain intact: {report.entries} entries, head {report.head_hash[:16]}", highlight=False)

"""``vtm compliance ...`` (for compliance officers); ``vtm audit`` lives in :mod:`vtm.records.audit.cli`.

vtm compliance validate [PATH]        check a pack; exit 1 naming file and path of every problem
vtm compliance explain CHECKPOINT     the rules that apply at a checkpoint, as a table
    [--say TEXT]                      ... and how the meaning-based fraud rules judge TEXT
vtm compliance checkpoints            every checkpoint the pack declares
vtm compliance schema                 JSON Schema of policy.yaml (committed as compliance/policy.schema.json)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from vtm.compliance.pack import PolicyPack, Rule

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Compliance policy pack: validate, explain, schema.")

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
    say: Annotated[
        list[str] | None,
        typer.Option("--say", help="Something a customer says: show the fraud exemplar it is closest to"),
    ] = None,
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
    semantic = [r for r in pack.rules_for(checkpoint) if r.check.needs_embedder]
    if semantic and pack.exemplars is not None:
        ex = pack.exemplars
        out.print(
            f"fraud exemplars: {ex.path} ({len(ex.document.fraud_types)} types, {len(ex.fraud)} fraud lines, "
            f"{len(ex.benign)} benign lines, hash {ex.content_hash[:12]})",
            highlight=False,
        )
    if say and semantic:
        _explain_semantic(pack, semantic, say, lang)


def _explain_semantic(pack: PolicyPack, rules: list[Rule], texts: list[str], lang: str) -> None:
    """Judge ``texts`` with the semantic rules' figures (by the words alone, before escalation)."""
    import os

    # The CLI is an entry point: it wires the kiosk's encoder as the kiosk does (bootstrap).
    from vtm.compliance.semantic import SemanticIndex
    from vtm.kiosk.bootstrap import nlu_embedder

    models = Path(os.environ.get("VTM_MODELS_DIR") or _models_path())
    assert pack.exemplars is not None  # checked by the caller
    index = SemanticIndex(pack.exemplars, nlu_embedder(models), cache_dir=models / "fraud-exemplars")
    for rule in rules:
        k, min_score, min_margin = rule.params.neighbours, rule.params.min_score, rule.params.min_margin  # type: ignore[attr-defined]  # fraud_semantic params
        for match in index.match(texts, k):
            fires = match.score >= min_score and match.margin >= min_margin
            status = "MATCHES" if fires else "no match"
            if fires and rule.params.escalate_when is not None:  # type: ignore[attr-defined]
                status += " (fires only with a risk factor, see escalate_when)"
            label = pack.exemplars.label(match.exemplar.fraud_type, lang)
            out.print(
                f"{rule.id}: {status}  {match.utterance!r}\n"
                f"  closest fraud line {match.exemplar.id} ({label}): {match.exemplar.text}\n"
                f"  score {match.score:.3f} (>= {min_score}), margin over benign {match.margin:+.3f} "
                f"(>= {min_margin}); closest benign {match.nearest_benign.id}: {match.nearest_benign.text}",
                highlight=False,
                markup=False,
            )


def _models_path() -> Path:
    from vtm.cli import settings_or_exit

    return settings_or_exit().models_path


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


"""``vtm compliance explain``: the rules of a checkpoint, and how the fraud rules judge a sentence.

The rest of ``vtm compliance`` lives in :mod:`vtm.compliance.cli`. This command sits at the top
because ``--say`` wires the kiosk's own encoder (:func:`vtm.kiosk.bootstrap.nlu_embedder`), as the
kiosk does, and the compliance layer is below the kiosk. :func:`register` adds it to that sub-app.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.console import Console
from rich.table import Table

from vtm.common.clitools import err, settings_or_exit
from vtm.compliance.cli import PackOption, load_pack_or_exit

if TYPE_CHECKING:
    from vtm.compliance.pack import PolicyPack, Rule

__all__ = ["register"]

out = Console()


def register(compliance_app: typer.Typer) -> None:
    """Add ``explain`` to the ``vtm compliance`` sub-app."""
    compliance_app.command("explain")(explain)


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
    pack = load_pack_or_exit(pack_path)
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
    # Imported when --say is given: the encoder (torch, transformers) is too slow for every `vtm` call.
    from vtm.compliance.checks import FraudSemanticParams
    from vtm.compliance.semantic import SemanticIndex
    from vtm.kiosk.bootstrap import nlu_embedder

    models = Path(os.environ.get("VTM_MODELS_DIR") or settings_or_exit().models_path)
    assert pack.exemplars is not None  # checked by the caller
    params = [cast(FraudSemanticParams, rule.params) for rule in rules]
    index = SemanticIndex(pack.exemplars, nlu_embedder(models), cache_dir=models / "fraud-exemplars",
                          classifier_cs=[c for p in params if (c := p.classifier) is not None],
                          lexical_cs=[c for p in params if (c := p.lexical) is not None])
    for rule, p in zip(rules, params, strict=True):
        for match in index.match(texts, p.neighbours, p.classifier, p.lexical):
            fires = p.fires(match)
            status = "MATCHES" if fires else "no match"
            if fires and p.escalate_when is not None:
                status += " (fires only with a risk factor, see escalate_when)"
            label = pack.exemplars.label(match.exemplar.fraud_type, lang)
            evidence = f"margin over benign {match.margin:+.3f}"
            if match.fraud_probability is not None:
                evidence += (f" + {p.classifier_weight} x log-odds of the classifier's fraud probability "
                             f"{match.fraud_probability:.3f}")
            if match.lexical_log_odds is not None:
                evidence += f" + {p.lexical_weight} x the words' log-odds {match.lexical_log_odds:+.3f}"
            if match.fraud_probability is not None or match.lexical_log_odds is not None:
                evidence += f" = evidence {p.evidence(match):+.3f}"
            out.print(
                f"{rule.id}: {status}  {match.utterance!r}\n"
                f"  closest fraud line {match.exemplar.id} ({label}): {match.exemplar.text}\n"
                f"  score {match.score:.3f} (>= {p.min_score}), {evidence} (>= {p.min_margin})\n"
                f"  closest benign {match.nearest_benign.id}: {match.nearest_benign.text}",
                highlight=False,
                markup=False,
            )

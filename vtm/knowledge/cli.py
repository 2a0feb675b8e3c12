"""``vtm kb``: validate, ask, evaluate and index the knowledge base.

Contract (``docs/architecture.md``)::

    vtm kb validate [PATH]                 PATH: a knowledge folder (default: the content dir's)
    vtm kb ask TEXT [--lang zh|en] --json  -> {"text", "lang", "entry", "score", "answer", "answered"}
    vtm kb evaluate FILE.csv --json [--sweep] [--by COLUMN ...]
    vtm kb index [--write | --check]

``answer`` is what the kiosk says: the entry's spoken answer, or the decline prompt (``entry``
null, ``answered`` false).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from vtm.common.clitools import settings_or_exit

if TYPE_CHECKING:
    from vtm.knowledge.base import KnowledgeBase
    from vtm.knowledge.loader import KnowledgeContent

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Self-service answers: the knowledge base.")
out = Console()
err = Console(stderr=True)

LangOption = Annotated[str | None, typer.Option("--lang", help="zh or en (default: detected from the text)")]
JsonOption = Annotated[bool, typer.Option("--json", help="print the result as JSON")]


def _content(path: Path | None) -> KnowledgeContent:
    from vtm.knowledge.errors import KnowledgeContentError
    from vtm.knowledge.loader import load_knowledge

    root = path.resolve().parent if path is not None else settings_or_exit().content_root
    try:
        return load_knowledge(root, path)
    except KnowledgeContentError as exc:
        for problem in exc.problems:
            err.print(f"[red]error[/red] {problem}", markup=True, highlight=False, soft_wrap=True)
        err.print(f"{len(exc.problems)} problem(s)")
        raise typer.Exit(1) from exc


def _knowledge_base() -> KnowledgeBase:
    from vtm.knowledge.base import KnowledgeBase
    from vtm.nlu.model.encoder import EncoderMissing

    settings = settings_or_exit()
    content = _content(None)
    try:
        return KnowledgeBase.from_content(content, settings.models_path)
    except EncoderMissing as exc:
        err.print(f"[red]error[/red] {exc}")
        raise typer.Exit(2) from exc


def _lang(value: str | None) -> str | None:
    if value not in (None, "zh", "en"):
        err.print(f"--lang must be zh or en, not {value!r}")
        raise typer.Exit(2)
    return value


@app.command("validate")
def validate(path: Annotated[Path | None, typer.Argument(help="knowledge folder to check")] = None) -> None:
    """Validate the knowledge folder against the policy pack, dialog settings and transactions."""
    content = _content(path)
    out.print(f"ok: {content.folder} entries={len(content.entries)} topics={len(content.topics)} "
              f"figures={len(content.figures)} inactive={len(content.inactive)}", highlight=False)
    if content.sample_facts:
        err.print("[yellow]warning[/yellow] bank_facts.yaml holds SAMPLE values (sample: true): "
                  "replace them with the bank's own before use with customers")


@app.command("ask")
def ask(text: str, lang: LangOption = None, as_json: JsonOption = False) -> None:
    """Answer TEXT from the knowledge base, or decline."""
    language = _lang(lang)
    kb = _knowledge_base()
    result = kb.ask(text, "zh" if language == "zh" else "en" if language == "en" else None)
    payload = {"text": text, "lang": result.lang, "entry": result.entry_id, "score": round(result.score, 4),
               "answer": result.spoken, "answered": result.answered}
    if as_json:
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    out.print(f"{'answer' if result.answered else 'decline'} [{result.entry_id or '-'}] "
              f"score={result.score:.3f}\n{result.spoken}\n\n{result.screen}", highlight=False)


@app.command("evaluate")
def evaluate_command(
    file: Annotated[Path, typer.Argument(help="CSV with columns text,lang,entry (entry empty: must decline)")],
    as_json: JsonOption = False,
    sweep_thresholds: Annotated[bool, typer.Option("--sweep", help="also report each threshold 0.30..0.90")] = False,
    by: Annotated[list[str] | None, typer.Option("--by", help="also report per value of a column (repeatable)")] = None,
) -> None:
    """Top-1 accuracy on answerable questions, wrong answers on unanswerable ones, latency."""
    from vtm.knowledge.errors import EvaluationFileError
    from vtm.knowledge.evaluate import evaluate, read_questions, sweep

    kb = _knowledge_base()
    try:
        questions = read_questions(file, kb.content, by or ())
    except EvaluationFileError as exc:
        err.print(f"[red]error[/red] {exc}")
        raise typer.Exit(1) from exc
    kb.ask("warm-up", "en")  # the first call pays for lazy initialisation inside torch
    report = evaluate(kb, questions, by or ()).as_dict()
    if sweep_thresholds:
        report["sweep"] = sweep(kb, questions, [t / 100 for t in range(30, 91, 2)])
    if as_json:
        typer.echo(json.dumps({"file": str(file), **report}, ensure_ascii=False))
        return
    slices = [(f"{column}={value}", scores) for column, values in report.get("by", {}).items()
              for value, scores in values.items()]
    for name, scores in [("all", report["overall"]), *report["by_lang"].items(), *slices]:
        out.print(f"{name}: top1={scores['top1']} (ranking {scores['ranking_top1']}, declined "
                  f"{scores['declined_rate']}) on {scores['answerable']} answerable; wrong answers "
                  f"{scores['wrong_answer_rate']} on {scores['unanswerable']} unanswerable")
    out.print(f"latency p50={report['latency_ms']['p50']} ms p95={report['latency_ms']['p95']} ms")


@app.command("index")
def index(
    write: Annotated[bool, typer.Option("--write", help="write knowledge/INDEX.md")] = False,
    check: Annotated[bool, typer.Option("--check", help="exit 1 if knowledge/INDEX.md is out of date")] = False,
) -> None:
    """Print (or write, or check) the index of entry ids and titles."""
    from vtm.knowledge.index_doc import INDEX_FILE, render_index

    content = _content(None)
    text = render_index(content)
    target = content.folder / INDEX_FILE
    if check:
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current != text:
            err.print(f"{target} is out of date; run `vtm kb index --write`")
            raise typer.Exit(1)
        out.print(f"ok: {target} is up to date")
    elif write:
        target.write_text(text, encoding="utf-8")
        out.print(f"wrote {target} ({len(content.entries)} entries)")
    else:
        typer.echo(text, nl=False)

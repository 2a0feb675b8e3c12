"""``vtm nlu``: train the intent model, parse one utterance, evaluate on an independent set.

Contract (``docs/architecture.md``)::

    vtm nlu train
    vtm nlu parse TEXT --json [--lang zh|en] [--today YYYY-MM-DD]
        -> {"text", "lang", "intent", "confidence", "slots": [{"name", "value", "start", "end"}]}
    vtm nlu evaluate FILE.csv --json [--slots FILE.yaml] [--baseline]
"""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vtm.common.clitools import settings_or_exit
from vtm.config import Settings

__all__ = ["app", "rich_progress"]

app = typer.Typer(no_args_is_help=True, help="Understanding: intent model and entities.")
err = Console(stderr=True)


def _settings() -> Settings:
    return settings_or_exit()


def _training_root(settings: Settings) -> Path:
    return settings.content_root / "dialogs" / "nlu"


class rich_progress:
    """A rich progress display fed by the model's ``progress(stage, done, total)`` callback."""

    def __init__(self, console: Console = err) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> rich_progress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(None, None, None)

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(stage, total=total)
        self._progress.update(self._tasks[stage], completed=done, total=total)


def _parser(settings: Settings, *, train: bool, progress: rich_progress | None = None) -> Any:
    from vtm.nlu.parser import NluParser

    return NluParser(
        settings.models_path, _training_root(settings), train_if_missing=train, progress=progress
    )


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[red]{type(exc).__name__}:[/red] ", end="")
    err.print(str(exc), markup=False, soft_wrap=True)  # paths and commands must stay copyable
    return typer.Exit(1)


@app.command("train")
def train() -> None:
    """Train the intent model for the current training data (cached: a second run only loads)."""
    from vtm.nlu.data import TrainingDataError
    from vtm.nlu.encoder_files import prepare_e5
    from vtm.nlu.model import IntentModelError

    settings = _settings()
    try:
        prepare_e5(settings.models_path)
        with rich_progress() as progress:
            classifier = _parser(settings, train=True, progress=progress).classifier
            meta = classifier.meta
    except (TrainingDataError, IntentModelError) as exc:
        raise _fail(exc) from exc
    err.print(
        f"intent model {meta.key[:12]}: {meta.train_examples} examples, trained in {meta.train_seconds} s, "
        f"held-out accuracy {meta.holdout_accuracy:.3f} (head alone {meta.holdout_head_accuracy or 0:.3f}), "
        f"threshold {meta.threshold:.3f} (in use: {classifier.threshold:.3f}, dialogs/nlu/calibration.yaml), "
        f"temperature {meta.temperature:.3f}, "
        f"example bank weight {meta.knn_weight:.2f} (temperature {meta.knn_temperature:.2f})",
        soft_wrap=True,
    )
    for expected, predicted, count in meta.holdout_confusions[:10]:
        err.print(f"  held-out confusion {expected} -> {predicted}: {count}")


def _jsonable(value: object) -> object:
    from vtm.nlu.types import DateRange

    if isinstance(value, DateRange):
        return {"start": value.start.isoformat(), "end": value.end.isoformat()}
    return str(value)


@app.command("parse")
def parse(
    text: str,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
    lang: Annotated[str | None, typer.Option("--lang", help="zh or en (default: detected)")] = None,
    today: Annotated[str | None, typer.Option("--today", help="YYYY-MM-DD for relative dates")] = None,
) -> None:
    """Understand one utterance."""
    from vtm.nlu.model import IntentModelError

    if lang not in (None, "zh", "en"):
        raise typer.BadParameter("--lang must be zh or en")
    day = date.fromisoformat(today) if today else None
    try:
        result = _parser(_settings(), train=False).parse(text, lang=lang, today=day)
    except IntentModelError as exc:
        raise _fail(exc) from exc
    payload = {
        "text": result.text,
        "lang": result.lang,
        "intent": result.intent,
        "confidence": round(result.confidence, 4),
        "slots": [
            {
                "name": e.name.value,
                "value": _jsonable(e.value),
                "start": e.start,
                "end": e.end,
                **({} if e.valid else {"valid": False, "reason": e.reason.value if e.reason else None}),
            }
            for e in result.slots
        ],
    }
    if as_json:
        typer.echo(json.dumps(payload, ensure_ascii=False))
    else:
        typer.echo(f"{payload['intent']} ({payload['confidence']})")
        for slot in payload["slots"]:
            typer.echo(f"  {slot['name']} = {slot['value']}  [{slot['start']}:{slot['end']}]")


@app.command("evaluate")
def evaluate(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV with text,intent[,lang]")],
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    slots: Annotated[
        Path | None, typer.Option("--slots", exists=True, dir_okay=False, help="slot evaluation YAML")
    ] = None,
    baseline: Annotated[bool, typer.Option("--baseline", help="also measure char TF-IDF + LR")] = False,
) -> None:
    """Accuracy, macro-F1, per-intent P/R, confusions, out-of-scope recall (and slots, baseline)."""
    from vtm.nlu.data import load_training_data
    from vtm.nlu.evaluate import evaluate_intents, evaluate_slots, load_intent_rows, load_slot_set
    from vtm.nlu.model import IntentModelError

    settings = _settings()
    rows = load_intent_rows(file)
    parser = _parser(settings, train=False)
    report: dict[str, Any] = {}
    try:
        started = time.perf_counter()
        report["model"] = evaluate_intents(parser, rows).model_dump()
        report["model"]["seconds"] = round(time.perf_counter() - started, 1)
    except IntentModelError as exc:
        raise _fail(exc) from exc
    if baseline:
        from vtm.nlu.baseline import TfidfBaseline

        report["baseline"] = evaluate_intents(
            TfidfBaseline(load_training_data(_training_root(settings))), rows
        ).model_dump()
    if slots is not None:
        from vtm.nlu.entities import extract_entities
        from vtm.nlu.types import Entity

        def extract(text: str, lang: str, today: date) -> list[Entity]:
            return extract_entities(text, "en" if lang == "en" else "zh", today)

        report["slots"] = evaluate_slots(extract, load_slot_set(slots)).model_dump()
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for name in ("model", "baseline"):
        if name in report:
            r = report[name]
            by_lang = ", ".join(f"{lang} {acc:.3f}" for lang, acc in r["accuracy_by_lang"].items())
            oos = r["out_of_scope_recall"]
            oos_by_lang = ", ".join(f"{lang} {acc:.3f}" for lang, acc in r["out_of_scope_recall_by_lang"].items())
            typer.echo(
                f"{name}: accuracy {r['accuracy']:.3f} ({by_lang}) macro-F1 {r['macro_f1']:.3f} "
                f"out-of-scope recall {'-' if oos is None else f'{oos:.3f}'} ({oos_by_lang})"
            )
            for kind, score in r["by_kind"].items():
                per_lang = ", ".join(f"{lang} {acc:.3f}" for lang, acc in score["by_lang"].items())
                typer.echo(f"  kind {kind}: {score['accuracy']:.3f} (n={score['n']}; {per_lang})")
            for expected, predicted, count in r["confusions"][:8]:
                typer.echo(f"    {expected} -> {predicted}: {count}")
    if "slots" in report:
        for name, m in report["slots"]["per_slot"].items():
            typer.echo(
                f"slot {name}: P {m['precision']:.3f} R {m['recall']:.3f} F1 {m['f1']:.3f} (n={m['support']})"
            )

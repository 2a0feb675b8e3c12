"""``vtm nlu context FILE.csv``: the evaluation set as the kiosk understands it, answers in context.

``vtm nlu evaluate`` reads every row alone. Rows whose ``asked`` column names the question the kiosk
had just asked are answers, and the kiosk hears them in that context: this command plays them
through the real dialog at that question (:mod:`vtm.kiosk.context_eval`) and reports, per language
and per kind, the accuracy where those rows are judged by what the kiosk did and the other rows by
their intent, beside the intent-only figures. It sits here because it wires the kiosk (the dialog,
the gate, a sandbox bank), which the NLU layer is below; :func:`register` adds it to ``vtm nlu``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any

import typer

from vtm.common.clitools import err, settings_or_exit

__all__ = ["register"]


def register(nlu_app: typer.Typer) -> None:
    """Add ``context`` to the ``vtm nlu`` sub-app."""
    nlu_app.command("context")(context)


def _rate(values: list[bool]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _table(rows: list[tuple[str, str, bool]]) -> dict[str, Any]:
    """(group, lang, correct) -> {group: {n, accuracy, by_lang}}."""
    groups: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for group, lang, ok in rows:
        groups[group][lang].append(ok)
    return {g: {"n": sum(len(v) for v in langs.values()),
                "accuracy": _rate([x for v in langs.values() for x in v]),
                "by_lang": {lang: _rate(v) for lang, v in sorted(langs.items())}}
            for g, langs in sorted(groups.items())}


def context(
    file: Annotated[Path, typer.Argument(help="CSV with text,intent,lang[,kind],asked")],
    contexts: Annotated[Path | None, typer.Option(
        "--contexts", help="prefixes per question (default tests/data/nlu/contexts.yaml)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    mistakes: Annotated[bool, typer.Option("--mistakes", help="list the rows judged wrong in context "
                                           "(development sets only: never read a held-out set's)")] = False,
) -> None:
    """Accuracy with answers judged in context; per language, kind and question."""
    import csv

    from vtm.kiosk.context_eval import ContextError, ContextRow, evaluate_in_context, load_contexts
    from vtm.kiosk.testing import ConversationRunner
    from vtm.nlu.parser import NluParser

    settings = settings_or_exit()
    try:
        spec = load_contexts(contexts or settings.content_root / "tests" / "data" / "nlu" / "contexts.yaml")
        with file.open(encoding="utf-8", newline="") as handle:
            rows = [ContextRow(r["text"], r["intent"].strip(), r["lang"].strip(), (r.get("asked") or "").strip(),
                               (r.get("kind") or "").strip(), (r.get("id") or "").strip())
                    for r in csv.DictReader(handle) if r["text"].strip()]
    except (ContextError, OSError, KeyError) as exc:
        err.print(f"{file}: {exc}")
        raise typer.Exit(2) from exc
    parser = NluParser(settings.models_path, settings.content_root / "dialogs" / "nlu", train_if_missing=True)
    runner = ConversationRunner(settings, nlu=parser)
    try:
        predicted = parser.predict_intents([r.text for r in rows], [r.lang for r in rows])
        try:
            played = evaluate_in_context(runner, spec, [r for r in rows if r.asked])
            judged = {(j.row.id, j.row.text): j for j in played}
        except ContextError as exc:
            err.print(str(exc))
            raise typer.Exit(1) from exc
    finally:
        runner.close()
    alone, kiosk, asked = [], [], []
    outside: dict[str, list[bool]] = defaultdict(list)
    for row, intent in zip(rows, predicted, strict=True):
        hit = judged.get((row.id, row.text))
        ok_alone = intent == row.intent
        ok = hit.correct if hit is not None else ok_alone
        alone.append(("all", row.lang, ok_alone))
        kiosk.append((row.kind or "all", row.lang, ok))
        if hit is not None:
            asked.append((row.asked, row.lang, ok))
        if row.intent == "out_of_scope":
            outside[row.lang].append(ok)
    by_lang = _table([("all", lang, ok) for _, lang, ok in kiosk])["all"]
    report = {
        "file": str(file), "n": len(rows), "answers_in_context": len(judged),
        "accuracy": by_lang["accuracy"], "accuracy_by_lang": by_lang["by_lang"],
        "intent_only_by_lang": _table(alone)["all"]["by_lang"],
        "out_of_scope_recall_by_lang": {lang: _rate(v) for lang, v in sorted(outside.items())},
        "by_kind": _table(kiosk),
        "in_context_by_question": _table(asked),
        "in_context_by_label": _table([(j.row.intent, j.row.lang, j.correct) for j in judged.values()]),
    }
    if mistakes:
        report["mistakes"] = [{"text": j.row.text, "lang": j.row.lang, "asked": j.row.asked, "expected": j.row.intent,
                               "understood": j.understood, **j.turn} for j in judged.values() if not j.correct]
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    print(f"{file}: {len(rows)} rows, {len(judged)} answers played at their question")
    print(f"accuracy {report['accuracy']} by language {report['accuracy_by_lang']} "
          f"(intent alone {report['intent_only_by_lang']})")
    print(f"out-of-scope recall {report['out_of_scope_recall_by_lang']}")
    for kind, figures in report["by_kind"].items():
        print(f"  {kind:<16} n {figures['n']:>4}  {figures['by_lang']}")
    for question, figures in report["in_context_by_question"].items():
        print(f"  asked {question:<14} n {figures['n']:>4}  {figures['by_lang']}")
    for item in report.get("mistakes", []):
        print(f"  MISS [{item['lang']} {item['asked']}] {item['text']!r}: expected {item['expected']}, "
              f"understood {item['understood']} -> {item['state']} {item['replies']}")

"""Measure the NLU on an independent evaluation set: intents from a CSV, slots from a YAML file.

Intent report: accuracy (overall, per language and, when the CSV has a ``kind`` column, per kind
of utterance), macro-F1, per-intent precision / recall / F1, the most frequent confusion pairs,
and out-of-scope recall (overall and per language). Slot report: per slot
precision / recall / F1, where a slot is correct when its name and value equal the expected
ones (amounts compared as ``Decimal``, dates as ISO start/end) and an extracted in-scope slot
that is not expected counts as a false positive (the YAML lists the complete expected set).

Anything that predicts intents can be evaluated (``IntentPredictor``), so the model and the
TF-IDF baseline are measured by the same code on the same rows.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from vtm.common import yamlio
from vtm.nlu.types import DateRange, Entity

__all__ = [
    "SLOTS_IN_SCOPE",
    "EvalRow",
    "IntentPredictor",
    "IntentReport",
    "KindScore",
    "SlotCase",
    "SlotReport",
    "SlotSet",
    "evaluate_intents",
    "evaluate_slots",
    "load_intent_rows",
    "load_slot_set",
]

OUT_OF_SCOPE = "out_of_scope"
SLOTS_IN_SCOPE = (
    "amount",
    "card_number",
    "account_number",
    "card_last4",
    "date_range",
    "payee_name",
    "payee_bank",
    "delivery",
    "loss_kind",
    "arrival",
)
# The evaluation set writes banks by their Chinese name; the extractors may use a short code.
_BANK_NAMES = {
    "ICBC": "中国工商银行",
    "CCB": "中国建设银行",
    "ABC": "中国农业银行",
    "BOC": "中国银行",
    "CMB": "招商银行",
    "BOCOM": "交通银行",
    "BCM": "交通银行",
    "PSBC": "中国邮政储蓄银行",
}


class IntentPredictor(Protocol):
    def predict_intents(self, texts: Sequence[str], langs: Sequence[str]) -> list[str]: ...


@dataclass(frozen=True)
class EvalRow:
    """One labelled utterance; ``kind`` names the phenomenon it tests (empty when the set has none)."""

    text: str
    intent: str
    lang: str
    kind: str = ""


def load_intent_rows(path: Path) -> list[EvalRow]:
    """Rows of a ``text,intent[,lang][,kind]`` CSV; a missing ``lang`` is detected from the text."""
    from vtm.nlu.normalize import detect_lang

    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"text", "intent"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: needs columns text,intent (has {reader.fieldnames})")
        return [
            EvalRow(
                r["text"],
                r["intent"].strip(),
                (r.get("lang") or "").strip() or detect_lang(r["text"]),
                (r.get("kind") or "").strip(),
            )
            for r in reader
            if r["text"].strip()
        ]


class PerLabel(BaseModel):
    precision: float
    recall: float
    f1: float
    support: int


class KindScore(BaseModel):
    """Accuracy on the rows of one kind of utterance (``by_kind``)."""

    n: int
    accuracy: float
    by_lang: dict[str, float]


class IntentReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    n: int
    accuracy: float
    accuracy_by_lang: dict[str, float]
    n_by_lang: dict[str, int] = Field(default_factory=dict)
    macro_f1: float
    out_of_scope_recall: float | None
    out_of_scope_recall_by_lang: dict[str, float] = Field(default_factory=dict)
    by_kind: dict[str, KindScore] = Field(
        default_factory=dict, description="per value of the CSV's `kind` column; empty without one"
    )
    per_intent: dict[str, PerLabel]
    confusions: list[tuple[str, str, int]] = Field(
        description="(expected, predicted, count), most frequent first"
    )


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _accuracy(pairs: Sequence[tuple[str, str]]) -> float:
    return sum(g == p for g, p in pairs) / len(pairs) if pairs else 0.0


def evaluate_intents(predictor: IntentPredictor, rows: Sequence[EvalRow]) -> IntentReport:
    predicted = predictor.predict_intents([r.text for r in rows], [r.lang for r in rows])
    gold = [r.intent for r in rows]
    labels = sorted(set(gold) | set(predicted))
    per: dict[str, PerLabel] = {}
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, predicted, strict=True))
        p, r, f = _prf(tp, fp, fn)
        per[label] = PerLabel(precision=p, recall=r, f1=f, support=tp + fn)
    triples = list(zip(gold, predicted, rows, strict=True))
    by_lang: dict[str, float] = {}
    n_by_lang: dict[str, int] = {}
    oos_by_lang: dict[str, float] = {}
    for lang in sorted({r.lang for r in rows}):
        pairs = [(g, p) for g, p, r in triples if r.lang == lang]
        by_lang[lang] = _accuracy(pairs)
        n_by_lang[lang] = len(pairs)
        oos_pairs = [(g, p) for g, p in pairs if g == OUT_OF_SCOPE]
        if oos_pairs:
            oos_by_lang[lang] = _accuracy(oos_pairs)
    by_kind: dict[str, KindScore] = {}
    for kind in sorted({r.kind for r in rows if r.kind}):
        of_kind = [(g, p, r.lang) for g, p, r in triples if r.kind == kind]
        langs = sorted({lang for _, _, lang in of_kind})
        by_kind[kind] = KindScore(
            n=len(of_kind),
            accuracy=_accuracy([(g, p) for g, p, _ in of_kind]),
            by_lang={lang: _accuracy([(g, p) for g, p, la in of_kind if la == lang]) for lang in langs},
        )
    supported = [per[label].f1 for label in labels if per[label].support]
    confusions = Counter((g, p) for g, p in zip(gold, predicted, strict=True) if g != p)
    oos = per.get(OUT_OF_SCOPE)
    return IntentReport(
        n=len(rows),
        accuracy=sum(g == p for g, p in zip(gold, predicted, strict=True)) / max(len(rows), 1),
        accuracy_by_lang=by_lang,
        n_by_lang=n_by_lang,
        macro_f1=sum(supported) / max(len(supported), 1),
        out_of_scope_recall=oos.recall if oos and oos.support else None,
        out_of_scope_recall_by_lang=oos_by_lang,
        by_kind=by_kind,
        per_intent=per,
        confusions=[(g, p, n) for (g, p), n in confusions.most_common(15)],
    )


# ---------------------------------------------------------------------------------- slots
class SlotCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    lang: str
    asked: str | None = None
    slots: dict[str, object] = Field(default_factory=dict)
    card_number_invalid: bool = False


class SlotSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    today: date
    cases: list[SlotCase]


def load_slot_set(path: Path) -> SlotSet:
    return SlotSet.model_validate(yamlio.safe_load(path.read_text(encoding="utf-8")))


def _canonical(name: str, value: object) -> str:
    """A comparable string for a slot value from either side (YAML or an :class:`Entity`)."""
    if name == "amount":
        try:
            return str(Decimal(str(value)).normalize())
        except InvalidOperation:
            return str(value)
    if name == "date_range":
        if isinstance(value, DateRange):
            return f"{value.start.isoformat()}..{value.end.isoformat()}"
        if isinstance(value, dict):
            return f"{value.get('start')}..{value.get('end')}"
    if name == "payee_bank":
        return _BANK_NAMES.get(str(value).upper(), str(value))
    return str(value).strip()


class SlotReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    n_cases: int
    per_slot: dict[str, PerLabel]
    micro_f1: float
    errors: list[str] = Field(description="first mismatches, for a human to read")


def evaluate_slots(extract: Callable[[str, str, date], Sequence[Entity]], slot_set: SlotSet) -> SlotReport:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    errors: list[str] = []
    for case in slot_set.cases:
        expected = {(n, _canonical(n, v)) for n, v in case.slots.items() if n in SLOTS_IN_SCOPE}
        found = {
            (e.name.value, _canonical(e.name.value, e.value))
            for e in extract(case.text, case.lang, slot_set.today)
            if e.valid and e.name.value in SLOTS_IN_SCOPE
        }
        for name, _ in expected & found:
            tp[name] += 1
        for name, _ in found - expected:
            fp[name] += 1
        for name, _ in expected - found:
            fn[name] += 1
        if expected != found and len(errors) < 40:
            errors.append(f"{case.text}: expected {sorted(expected - found)} got {sorted(found - expected)}")
    per: dict[str, PerLabel] = {}
    for name in SLOTS_IN_SCOPE:
        if tp[name] + fp[name] + fn[name]:
            p, r, f = _prf(tp[name], fp[name], fn[name])
            per[name] = PerLabel(precision=p, recall=r, f1=f, support=tp[name] + fn[name])
    _, _, micro = _prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    return SlotReport(n_cases=len(slot_set.cases), per_slot=per, micro_f1=micro, errors=errors)

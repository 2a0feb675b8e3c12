"""Measure the knowledge base on a question set: answers, declines and latency, per language.

A question set is a CSV whose first columns are ``text,lang,entry``; ``entry`` is the id that
should answer, or empty when no entry should (the kiosk must decline). Further columns (such as
``kind``) are kept and can slice the report. Reported per language, overall and per value of
each requested column: top-1 accuracy on answerable questions (answered with the right entry; a
decline counts as a miss), the ranking's own top-1 (ignoring the threshold), the share of
answerable questions declined, the wrong-answer rate on unanswerable questions, and p50/p95
latency of :meth:`KnowledgeBase.ask`.

Usage::

    questions = read_questions(Path("tests/data/kb/blind2_labelled.csv"), kb.content, by=["kind"])
    report = evaluate(kb, questions, by=["kind"])
    report.overall.top1, report.overall.wrong_answer_rate, report.by["kind"]["colloquial"].top1
"""

from __future__ import annotations

import csv
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vtm.knowledge.base import KnowledgeBase
from vtm.knowledge.errors import EvaluationFileError
from vtm.knowledge.loader import LANGS, KnowledgeContent
from vtm.nlu.types import Lang

__all__ = ["EvaluationReport", "Question", "Scores", "evaluate", "read_questions", "sweep"]

_COLUMNS = ("text", "lang", "entry")


@dataclass(frozen=True, slots=True)
class Question:
    text: str
    lang: Lang
    entry: str | None
    columns: Mapping[str, str] = field(default_factory=dict)  # the file's other columns, e.g. kind


def read_questions(path: Path, content: KnowledgeContent | None = None, by: Sequence[str] = ()) -> list[Question]:
    """Read a question set; with ``content``, every expected entry id must exist in it.

    ``by`` names columns the file must have (to slice the report by them).
    """
    known = {e.id for e in content.entries} if content is not None else None
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or tuple(reader.fieldnames[:3]) != _COLUMNS:
                raise EvaluationFileError(f"{path}: the header must be text,lang,entry, found {reader.fieldnames}")
            missing = [name for name in by if name not in reader.fieldnames]
            if missing:
                raise EvaluationFileError(f"{path}: no column {', '.join(missing)}; found {reader.fieldnames}")
            extra = reader.fieldnames[3:]
            questions: list[Question] = []
            for row_number, row in enumerate(reader, start=2):
                text, lang, entry = (row.get(c) or "" for c in _COLUMNS)
                if not text.strip():
                    raise EvaluationFileError(f"{path}: row {row_number}: empty text")
                if lang not in LANGS:
                    raise EvaluationFileError(f"{path}: row {row_number}: lang must be zh or en, found {lang!r}")
                entry = entry.strip()
                if entry and known is not None and entry not in known:
                    raise EvaluationFileError(f"{path}: row {row_number}: no entry {entry!r} in the knowledge base")
                columns = {name: (row.get(name) or "").strip() for name in extra}
                questions.append(Question(text.strip(), "zh" if lang == "zh" else "en", entry or None, columns))
    except OSError as exc:
        raise EvaluationFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return questions


@dataclass(slots=True)
class Scores:
    """Counts for one slice of the set (a language, or all)."""

    answerable: int = 0
    correct: int = 0
    ranked_first: int = 0
    declined_answerable: int = 0
    unanswerable: int = 0
    wrongly_answered: int = 0

    @property
    def top1(self) -> float | None:
        return self.correct / self.answerable if self.answerable else None

    @property
    def ranking_top1(self) -> float | None:
        return self.ranked_first / self.answerable if self.answerable else None

    @property
    def declined_rate(self) -> float | None:
        return self.declined_answerable / self.answerable if self.answerable else None

    @property
    def wrong_answer_rate(self) -> float | None:
        return self.wrongly_answered / self.unanswerable if self.unanswerable else None

    def as_dict(self) -> dict[str, Any]:
        rounded = {k: (round(v, 4) if v is not None else None) for k, v in (
            ("top1", self.top1), ("ranking_top1", self.ranking_top1), ("declined_rate", self.declined_rate),
            ("wrong_answer_rate", self.wrong_answer_rate))}
        return {**asdict(self), **rounded}


@dataclass(frozen=True, slots=True)
class Outcome:
    question: Question
    ranked_first: str | None
    answered: str | None
    score: float
    latency_ms: float


@dataclass
class EvaluationReport:
    threshold: dict[str, float]
    overall: Scores = field(default_factory=Scores)
    by_lang: dict[str, Scores] = field(default_factory=lambda: {lang: Scores() for lang in LANGS})
    by: dict[str, dict[str, Scores]] = field(default_factory=dict)  # column -> its value -> scores
    latencies_ms: list[float] = field(default_factory=list)
    mistakes: list[Outcome] = field(default_factory=list)

    def latency(self, quantile: float) -> float:
        return float(np.percentile(self.latencies_ms, quantile * 100)) if self.latencies_ms else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "questions": self.overall.answerable + self.overall.unanswerable,
            "overall": self.overall.as_dict(),
            "by_lang": {lang: s.as_dict() for lang, s in self.by_lang.items()},
            **({"by": {column: {value: s.as_dict() for value, s in sorted(values.items())}
                       for column, values in self.by.items()}} if self.by else {}),
            "latency_ms": {"p50": round(self.latency(0.5), 2), "p95": round(self.latency(0.95), 2)},
            "mistakes": [
                {"text": m.question.text, "lang": m.question.lang, "expected": m.question.entry,
                 "answered": m.answered, "ranked_first": m.ranked_first, "score": round(m.score, 4)}
                for m in self.mistakes
            ],
        }


def _tally(report: EvaluationReport, outcome: Outcome) -> None:
    q = outcome.question
    slices = [report.by[column].setdefault(q.columns.get(column, ""), Scores()) for column in report.by]
    for scores in (report.overall, report.by_lang[q.lang], *slices):
        if q.entry is None:
            scores.unanswerable += 1
            scores.wrongly_answered += outcome.answered is not None
        else:
            scores.answerable += 1
            scores.correct += outcome.answered == q.entry
            scores.ranked_first += outcome.ranked_first == q.entry
            scores.declined_answerable += outcome.answered is None
    if outcome.answered != q.entry:
        report.mistakes.append(outcome)


def _ask(kb: KnowledgeBase, question: Question) -> Outcome:
    started = time.perf_counter()
    result = kb.ask(question.text, question.lang)
    elapsed = (time.perf_counter() - started) * 1000
    ranked_first = result.candidates[0].entry_id if result.candidates else None
    return Outcome(question, ranked_first, result.entry_id, result.score, elapsed)


def evaluate(kb: KnowledgeBase, questions: Sequence[Question], by: Sequence[str] = ()) -> EvaluationReport:
    """Ask every question once (in the question's language) and tally the outcomes.

    ``by`` names columns of the question set to report separately, one slice per value.
    """
    report = EvaluationReport(kb.settings.threshold.model_dump(), by={column: {} for column in by})
    for question in questions:
        outcome = _ask(kb, question)
        report.latencies_ms.append(outcome.latency_ms)
        _tally(report, outcome)
    return report


def sweep(kb: KnowledgeBase, questions: Sequence[Question], thresholds: Sequence[float]) -> list[dict[str, Any]]:
    """Top-1 and wrong-answer rate per language at each candidate threshold (ranks computed once),
    with the settings' ``outside_ceiling`` applied as configured.

    This is how ``settings.yaml``'s thresholds are calibrated (docs/knowledge.md, Calibration).
    """
    ranked = [(q, kb.assess(q.text, q.lang)) for q in questions]
    rows: list[dict[str, Any]] = []
    for threshold in thresholds:
        report = EvaluationReport({"zh": threshold, "en": threshold})
        for question, ranking in ranked:
            best = ranking.candidates[0] if ranking.candidates else None
            answered = best.entry_id if best is not None and kb.answers(ranking, threshold) else None
            _tally(report, Outcome(question, best.entry_id if best else None, answered, best.score if best else 0.0, 0))
        rows.append({"threshold": round(threshold, 3),
                     **{lang: {"top1": s.top1, "wrong_answer_rate": s.wrong_answer_rate}
                        for lang, s in report.by_lang.items()}})
    return rows

"""Knowledge answers marked wrong, as test cases for ``vtm kb evaluate``.

The file has the columns and quoting of ``tests/data/kb/blind.csv``: header ``text,lang,entry,kind``,
every field quoted, UTF-8, written with Python's :mod:`csv`. One row per marked answer (its newest
mark, :meth:`~vtm.records.answer_marks.AnswerMarkStore.current`):

========  ===================================================================================
text      the customer's question, masked as the transcript shows it
lang      ``zh`` or ``en``
entry     the entry that should have answered; empty: the kiosk should have declined
kind      ``answerable`` (an entry is given) or ``unanswerable``
========  ===================================================================================

A question purged by the retention period is left out (there is nothing left to ask). The same
question (text and language) marked in several sessions is written once, from the newest mark. A
text that a spreadsheet would run as a formula (starting ``=``, ``+``, ``-``, ``@``, tab or CR) is
written with a leading ``'``, as OWASP advises for CSV files staff may open in Excel.

These questions come from real sessions and were read by the staff who marked them: they make a
regression set, not a blind one. Keep them in a file of their own (``docs/review.md``).

Every export, from the web app or from ``vtm review export-kb-cases``, goes through
:func:`export_kb_cases`: written to the staff access log (action ``answer_export``) and sealed in
the audit chain (``staff_answer_export``) with who, which role and how many cases, before the
file is handed out.

Usage::

    export = export_kb_cases(marks, store, audit, user="sam", role="supervisor")
    Path("field-cases.csv").write_text(export.csv_text, encoding="utf-8", newline="")
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass

from vtm.audit import AuditLog
from vtm.records.answer_marks import AnswerMark, AnswerMarkStore
from vtm.records.store import SessionStore
from vtm.records.views import PURGED

__all__ = ["ANSWER_EXPORT", "KB_CASE_COLUMNS", "KbCase", "KbExport", "export_kb_cases", "kb_cases", "kb_cases_csv"]

ANSWER_EXPORT = "answer_export"
"""The access-log action of an export; the audit entry kind is ``staff_answer_export``."""

KB_CASE_COLUMNS = ("text", "lang", "entry", "kind")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class KbCase:
    """One question and what the knowledge base should do with it."""

    text: str
    lang: str
    entry: str | None  # None: decline

    @property
    def kind(self) -> str:
        return "answerable" if self.entry else "unanswerable"


def kb_cases(marks: Iterable[AnswerMark]) -> list[KbCase]:
    """One case per question, from ``marks`` given newest first (as ``current()`` returns them)."""
    cases: dict[tuple[str, str], KbCase] = {}
    for mark in marks:
        text = " ".join(mark.question.split())
        if not text or text == PURGED:
            continue
        cases.setdefault((text, mark.lang), KbCase(text, mark.lang, mark.expected_entry))
    return list(cases.values())


def kb_cases_csv(cases: Iterable[KbCase]) -> str:
    """The cases as CSV text (CRLF line ends, as :mod:`csv` writes and ``blind.csv`` has)."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(KB_CASE_COLUMNS)
    for case in cases:
        text = f"'{case.text}" if case.text.startswith(_FORMULA_START) else case.text
        writer.writerow([text, case.lang, case.entry or "", case.kind])
    return out.getvalue()


@dataclass(frozen=True)
class KbExport:
    """An export as handed out: the CSV text, how many cases it has and from how many marks."""

    csv_text: str
    cases: int
    marks: int


def export_kb_cases(
    marks: AnswerMarkStore, store: SessionStore, audit: AuditLog, *, user: str, role: str
) -> KbExport:
    """The current marks as CSV, logged and audited first (``user`` and ``role`` name who asked)."""
    current = marks.current()
    cases = kb_cases(current)
    detail = {"user": user, "role": role, "cases": len(cases), "marks": len(current)}
    store.log_access(user, None, ANSWER_EXPORT, reason=json.dumps(detail, ensure_ascii=False))
    audit.append(f"staff_{ANSWER_EXPORT}", detail)
    return KbExport(kb_cases_csv(cases), len(cases), len(current))

"""Load and validate ``knowledge/``; render every answer's figures once, at load.

Every problem is reported at once, each naming the file, the path inside it and what to fix::

    knowledge/entries/cards.yaml: entries[4].spoken.en: unknown placeholder {policy.fee}; ...

Usage::

    content = load_knowledge(Path("."))            # the content root: knowledge/, compliance/, ...
    entry = content.entries[0]
    entry.spoken.zh, entry.transaction
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from vtm.common.yamlio import safe_load
from vtm.compliance.errors import PolicyError
from vtm.compliance.pack import default_pack_path, load_pack
from vtm.flows.definition import TransactionDefinition
from vtm.knowledge.errors import ContentProblem, KnowledgeContentError
from vtm.knowledge.figures import Figure, resolve_figures
from vtm.knowledge.models import (
    BankFactsFile,
    Bilingual,
    EntrySpec,
    FigureFormat,
    FiguresFile,
    Grade,
    OutOfScopeFile,
    PhrasingsFile,
    SettingsFile,
    TopicFile,
)
from vtm.nlu.types import Lang

__all__ = ["MAX_SPOKEN_SENTENCES", "Entry", "KnowledgeContent", "load_knowledge", "sentence_count"]

MAX_SPOKEN_SENTENCES = 2
LANGS: tuple[Lang, ...] = ("zh", "en")

_M = TypeVar("_M", bound=BaseModel)
_BRACED = re.compile(r"\{([^{}]*)\}")
_PLACEHOLDER = re.compile(r"^(policy|bank)\.([a-z][a-z0-9_]*)$")
_ZH_SENTENCE_END = re.compile(r"[。！？!?]+")
_EN_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")


@dataclass(frozen=True, slots=True)
class Entry:
    """An entry ready to answer with: figures filled in, the file it came from kept for review."""

    id: str
    topic: str
    title: Bilingual
    questions: Mapping[Lang, tuple[str, ...]]
    phrasings: Mapping[Lang, tuple[str, ...]]  # from phrasings/<topic>.yaml; empty when none
    spoken: Bilingual
    screen: Bilingual
    source: str
    grade: Grade
    effective: date
    transaction: str | None
    file: str


@dataclass(frozen=True, slots=True)
class KnowledgeContent:
    """Everything loaded from ``knowledge/``, validated against the policy pack and transactions."""

    folder: Path
    settings: SettingsFile
    entries: tuple[Entry, ...]
    topics: Mapping[str, Bilingual]
    figures: Mapping[str, Figure]
    sample_facts: bool
    inactive: tuple[str, ...]
    """Entries left out because a flag in their ``when`` does not hold under the current policy."""
    out_of_scope: Mapping[Lang, tuple[str, ...]]
    """Questions no entry answers (``phrasings/out_of_scope.yaml``); empty when the file is absent."""


def sentence_count(text: str, lang: Lang) -> int:
    """Sentences in ``text``: terminated ones, plus an unterminated tail."""
    pattern = _ZH_SENTENCE_END if lang == "zh" else _EN_SENTENCE_END
    parts = [p for p in pattern.split(text.strip()) if p.strip()]
    return len(parts)


def _loc(loc: Sequence[int | str], prefix: str = "") -> str:
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _read_yaml(path: Path, problems: list[ContentProblem]) -> Any:
    try:
        return safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        problems.append(ContentProblem(str(path), "", f"cannot read: {exc.strerror or exc}"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problems.append(ContentProblem(str(path), where, f"not valid YAML: {getattr(exc, 'problem', exc)}"))
    return None


def _validate(model: type[_M], path: Path, problems: list[ContentProblem]) -> _M | None:
    data = _read_yaml(path, problems)
    if data is None:
        if path.is_file() and not any(p.file == str(path) for p in problems):
            problems.append(ContentProblem(str(path), "", "the file is empty"))
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            message = error["msg"]
            if error["type"] == "extra_forbidden":
                message = "unknown field (check the spelling; see docs/knowledge.md)"
            problems.append(ContentProblem(str(path), _loc(error["loc"]), message))
        return None


def _transaction_names(folder: Path, problems: list[ContentProblem]) -> set[str]:
    names: set[str] = set()
    for path in sorted(folder.glob("*.yaml")):
        data = _read_yaml(path, problems)
        try:
            names.add(TransactionDefinition.model_validate(data).name)
        except ValidationError:
            problems.append(ContentProblem(str(path), "", "invalid transaction definition (run `vtm flows validate`)"))
    return names


class _Renderer:
    """Fills ``{policy.x}`` and ``{bank.x}`` placeholders; reports what it cannot fill."""

    def __init__(self, figures: Mapping[str, Figure], facts: Mapping[str, Bilingual]) -> None:
        self.figures = figures
        self.facts = facts

    def render(self, text: str, lang: Lang, file: str, where: str, problems: list[ContentProblem]) -> str:
        def fill(match: re.Match[str]) -> str:
            inner = _PLACEHOLDER.match(match.group(1))
            if inner is None:
                problems.append(ContentProblem(
                    file, where, f"{match.group()} is not a placeholder; write {{policy.<figure>}} or {{bank.<fact>}}"))
                return match.group()
            kind, name = inner.groups()
            if kind == "bank":
                fact = self.facts.get(name)
                if fact is None:
                    problems.append(ContentProblem(file, where, f"unknown placeholder {match.group()}; "
                                                   f"bank_facts.yaml has: {', '.join(sorted(self.facts))}"))
                    return match.group()
                return fact.zh if lang == "zh" else fact.en
            figure = self.figures.get(name)
            if figure is None or figure.format is FigureFormat.FLAG:
                known = ", ".join(sorted(n for n, f in self.figures.items() if f.format is not FigureFormat.FLAG))
                problems.append(ContentProblem(file, where, f"unknown placeholder {match.group()}; "
                                               f"figures.yaml has: {known}"))
                return match.group()
            return figure.render(lang)

        return _BRACED.sub(fill, text)


def _check_entry(spec: EntrySpec, where: str, file: str, transactions: set[str],
                 figures: Mapping[str, Figure], problems: list[ContentProblem]) -> bool:
    """Cross-references of one entry; returns whether its ``when`` flags hold."""
    if spec.transaction is not None and spec.transaction not in transactions:
        problems.append(ContentProblem(file, f"{where}.transaction", f"no transaction {spec.transaction!r} in "
                                       f"transactions/; known: {', '.join(sorted(transactions))}"))
    active = True
    for flag, wanted in spec.when.items():
        figure = figures.get(flag)
        if figure is None or figure.format is not FigureFormat.FLAG:
            problems.append(ContentProblem(file, f"{where}.when.{flag}", "not a flag figure in figures.yaml"))
            continue
        active = active and figure.value is wanted
    for lang in LANGS:
        for i, question in enumerate(getattr(spec.questions, lang)):
            if "{" in question or "}" in question:
                problems.append(
                    ContentProblem(file, f"{where}.questions.{lang}[{i}]", "questions take no placeholders")
                )
    return active


def _render_entry(spec: EntrySpec, topic: str, where: str, file: str, renderer: _Renderer,
                  problems: list[ContentProblem]) -> Entry:
    rendered: dict[str, Bilingual] = {}
    for part in ("spoken", "screen"):
        text: Bilingual = getattr(spec, part)
        rendered[part] = Bilingual(
            zh=renderer.render(text.zh, "zh", file, f"{where}.{part}.zh", problems),
            en=renderer.render(text.en, "en", file, f"{where}.{part}.en", problems),
        )
    for lang in LANGS:
        spoken = getattr(rendered["spoken"], lang)
        if sentence_count(spoken, lang) > MAX_SPOKEN_SENTENCES:
            problems.append(ContentProblem(file, f"{where}.spoken.{lang}", f"at most {MAX_SPOKEN_SENTENCES} "
                                           "sentences are spoken; move the rest to screen"))
    return Entry(spec.id, topic, spec.title, {"zh": tuple(spec.questions.zh), "en": tuple(spec.questions.en)},
                 {"zh": (), "en": ()}, rendered["spoken"], rendered["screen"], spec.source, spec.grade, spec.effective,
                 spec.transaction, file)


def load_knowledge(content_root: Path, folder: Path | None = None) -> KnowledgeContent:
    """Load ``folder`` (default ``content_root/knowledge``) against the content root's policy pack,
    ``dialogs/dialog.yaml`` and ``transactions/``; raise :class:`KnowledgeContentError` naming all problems.
    """
    folder = folder or content_root / "knowledge"
    problems: list[ContentProblem] = []
    settings = _validate(SettingsFile, folder / "settings.yaml", problems)
    figures_doc = _validate(FiguresFile, folder / "figures.yaml", problems)
    facts = _validate(BankFactsFile, folder / "bank_facts.yaml", problems)
    try:
        pack = load_pack(default_pack_path(content_root))
    except PolicyError as exc:
        raise KnowledgeContentError([ContentProblem(p.file, p.path, p.message) for p in exc.problems]) from exc
    dialog_file = content_root / "dialogs" / "dialog.yaml"
    dialog_values = _read_yaml(dialog_file, problems)
    transactions = _transaction_names(content_root / "transactions", problems)
    if settings is None or figures_doc is None or facts is None or not isinstance(dialog_values, dict):
        raise KnowledgeContentError(problems or [ContentProblem(str(dialog_file), "", "expected a mapping")])
    figures = resolve_figures(figures_doc, folder / "figures.yaml", pack, dialog_values, dialog_file, problems)
    renderer = _Renderer(figures, facts.facts)

    entries: list[Entry] = []
    topics: dict[str, Bilingual] = {}
    inactive: list[str] = []
    seen: dict[str, str] = {}
    files = sorted((folder / "entries").glob("*.yaml"))
    if not files:
        problems.append(ContentProblem(str(folder / "entries"), "", "no topic files (*.yaml) found"))
    for path in files:
        doc = _validate(TopicFile, path, problems)
        if doc is None:
            continue
        file = str(path)
        if doc.topic in topics:
            problems.append(ContentProblem(file, "topic", f"topic {doc.topic!r} is also used by another file"))
        topics[doc.topic] = doc.title
        for i, spec in enumerate(doc.entries):
            where = f"entries[{i}]"
            if spec.id in seen:
                problems.append(
                    ContentProblem(file, f"{where}.id", f"duplicate id {spec.id!r} (also in {seen[spec.id]})")
                )
            seen[spec.id] = file
            active = _check_entry(spec, where, file, transactions, figures, problems)
            entry = _render_entry(spec, doc.topic, where, file, renderer, problems)
            if active:
                entries.append(entry)
            else:
                inactive.append(spec.id)
    # Phrasings are checked against the entries only once the entries load: a broken topic file would
    # otherwise make every phrasing of it "unknown" and bury the one problem that matters.
    phrasings, out_of_scope = _load_phrasings(folder / "phrasings", seen if not problems else None, entries, problems)
    if problems:
        raise KnowledgeContentError(problems)
    entries = [replace(e, phrasings=phrasings[e.id]) if e.id in phrasings else e for e in entries]
    return KnowledgeContent(folder, settings, tuple(entries), topics, figures, facts.sample, tuple(inactive),
                            out_of_scope)


OUT_OF_SCOPE_FILE = "out_of_scope.yaml"


def _load_phrasings(
    folder: Path, ids: Mapping[str, str] | None, entries: Sequence[Entry], problems: list[ContentProblem]
) -> tuple[dict[str, Mapping[Lang, tuple[str, ...]]], Mapping[Lang, tuple[str, ...]]]:
    """``phrasings/``: per-entry phrasings (each id known, in its own topic's file) and out-of-scope questions.

    The folder is optional: without it the kiosk ranks by the entries' own questions only. ``ids``
    None: the entries failed to load; only the files' own shape is checked.
    """
    topic_of = {e.id: e.topic for e in entries}
    found: dict[str, Mapping[Lang, tuple[str, ...]]] = {}
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        if path.name == OUT_OF_SCOPE_FILE:
            continue
        doc = _validate(PhrasingsFile, path, problems)
        if doc is None or ids is None:
            continue
        for entry_id, texts in doc.phrasings.items():
            where = f"phrasings.{entry_id}"
            if entry_id not in ids:
                problems.append(ContentProblem(str(path), where, f"no entry {entry_id!r} in entries/"))
            elif entry_id in found:
                problems.append(ContentProblem(str(path), where, "phrasings for this entry are given twice"))
            elif entry_id in topic_of and topic_of[entry_id] != doc.topic:
                problems.append(ContentProblem(str(path), where, f"entry of topic {topic_of[entry_id]!r}, "
                                               f"not {doc.topic!r}: move it to phrasings/{topic_of[entry_id]}.yaml"))
            else:
                found[entry_id] = {"zh": tuple(texts.zh), "en": tuple(texts.en)}
    out_of_scope: Mapping[Lang, tuple[str, ...]] = {"zh": (), "en": ()}
    if (folder / OUT_OF_SCOPE_FILE).is_file():
        doc_oos = _validate(OutOfScopeFile, folder / OUT_OF_SCOPE_FILE, problems)
        if doc_oos is not None:
            out_of_scope = {"zh": tuple(doc_oos.zh), "en": tuple(doc_oos.en)}
    return found, out_of_scope

"""Load and validate the NLU training data in ``dialogs/nlu/``.

The training data is content, not code: one YAML file per intent and language,
``<root>/<lang>/<intent>.yaml`` (``root`` is usually ``dialogs/nlu``; the
``lexicon/`` folder beside the language folders is not training data and is not read).
Each file looks like::

    lang: zh
    intent: transfer_money
    examples:
      - 给[张三](payee_name)转[两千](amount)
      - 帮我转个账

Slot values are marked inline as ``[value text](slot_name)``; the brackets are removed
from the text and the value is recorded with its character offsets in the clean text.
The format is documented in ``dialogs/nlu/README.md``.

Validation is strict because a silent mistake here trains a wrong model: an unknown
intent or slot, a file whose header disagrees with its path, a malformed annotation,
a line in the wrong script for its language, or the same text twice (even across
intents or languages, compared case- and punctuation-insensitively) raises
:class:`TrainingDataError` naming the file and the path inside it, e.g.
``dialogs/nlu/zh/deny.yaml: examples[12]: duplicate of dialogs/nlu/zh/cancel.yaml: examples[3]``.

Usage::

    examples = load_training_data(Path("dialogs/nlu"))
    counts = count_by_intent(examples)   # {("zh", Intent.CANCEL): 74, ...}
    key = fingerprint(examples)          # cache key for trained artifacts
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vtm.common.yamlio import safe_load

__all__ = [
    "LANGUAGES",
    "Example",
    "Intent",
    "Lang",
    "Slot",
    "SlotName",
    "TrainingDataError",
    "count_by_intent",
    "dedup_key",
    "fingerprint",
    "load_training_data",
    "parse_annotated",
]

Lang = Literal["zh", "en"]
LANGUAGES: tuple[Lang, ...] = ("zh", "en")


class Intent(StrEnum):
    """The intent names; a contract shared with the dialog manager and the test set."""

    REPORT_CARD_LOST = "report_card_lost"
    TRANSFER_MONEY = "transfer_money"
    REQUEST_STATEMENT = "request_statement"
    CHECK_BALANCE = "check_balance"
    REVOKE_TRANSFER = "revoke_transfer"
    CHANGE_PIN = "change_pin"
    INFORM = "inform"
    AFFIRM = "affirm"
    DENY = "deny"
    CANCEL = "cancel"
    REPEAT = "repeat"
    HELP = "help"
    ASK_HUMAN = "ask_human"
    GREETING = "greeting"
    GOODBYE = "goodbye"
    SWITCH_LANGUAGE = "switch_language"
    OUT_OF_SCOPE = "out_of_scope"


class SlotName(StrEnum):
    """Slot names that may be annotated in training lines (the entity names of the NLU)."""

    AMOUNT = "amount"
    ACCOUNT_NUMBER = "account_number"
    CARD_NUMBER = "card_number"
    CARD_LAST4 = "card_last4"
    PAYEE_NAME = "payee_name"
    PAYEE_BANK = "payee_bank"
    DATE_RANGE = "date_range"
    ID_NUMBER = "id_number"
    PHONE = "phone"
    DELIVERY = "delivery"
    LOSS_KIND = "loss_kind"
    ARRIVAL = "arrival"
    LANGUAGE = "language"


class TrainingDataError(Exception):
    """A training-data file is missing, unreadable or invalid.

    ``file`` is the offending file, ``path`` the location inside it (``examples[3]``),
    empty when the problem concerns the whole file. Never retry-safe: fix the content.
    """

    retry_safe = False

    def __init__(self, file: Path, path: str, message: str) -> None:
        self.file = file
        self.path = path
        self.message = message
        where = f"{file}: {path}" if path else str(file)
        super().__init__(f"{where}: {message}")


class Slot(BaseModel):
    """One annotated slot value: ``text[start:end] == value``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: SlotName
    value: str = Field(min_length=1)
    start: int = Field(ge=0)
    end: int = Field(gt=0)


class Example(BaseModel):
    """One training utterance with its intent, language and optional slot annotations."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(min_length=1)
    intent: Intent
    lang: Lang
    slots: tuple[Slot, ...] = ()
    source: str = Field(default="", description="'file: examples[i]', for error messages and reports")


class _IntentFile(BaseModel):
    """The schema of one ``<lang>/<intent>.yaml`` file."""

    model_config = ConfigDict(extra="forbid")

    lang: Lang
    intent: Intent
    examples: list[str] = Field(min_length=1)


_ANNOTATION = re.compile(r"\[([^\[\]()]+)\]\(([A-Za-z_][A-Za-z0-9_]*)\)")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def parse_annotated(raw: str) -> tuple[str, tuple[Slot, ...]]:
    """Split ``给[张三](payee_name)转[两千](amount)`` into clean text and slots.

    Raises ``ValueError`` (with a message a content author understands) for an unknown
    slot name, a stray bracket, or a value with leading or trailing spaces.
    """
    parts: list[str] = []
    slots: list[Slot] = []
    cursor = 0
    length = 0
    for match in _ANNOTATION.finditer(raw):
        before = raw[cursor : match.start()]
        parts.append(before)
        length += len(before)
        value, name = match.group(1), match.group(2)
        if name not in {s.value for s in SlotName}:
            known = ", ".join(s.value for s in SlotName)
            raise ValueError(f"unknown slot {name!r} (known: {known})")
        if value != value.strip():
            raise ValueError(f"slot value {value!r} has leading or trailing spaces")
        slots.append(Slot(name=SlotName(name), value=value, start=length, end=length + len(value)))
        parts.append(value)
        length += len(value)
        cursor = match.end()
    parts.append(raw[cursor:])
    text = "".join(parts)
    if "[" in text or "]" in text:
        raise ValueError("stray '[' or ']': annotate slots as [value](slot_name)")
    return text, tuple(slots)


def dedup_key(text: str) -> str:
    """Case-, width-, space- and punctuation-insensitive form used to find duplicates.

    The same comparison keeps evaluation sets apart from the training data: a test line whose
    key equals a training line's key is that line ("不对，是五百" == "不对是五百").
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if not (ch.isspace() or unicodedata.category(ch).startswith("P")))


def _check_script(text: str, lang: Lang) -> None:
    has_han = _HAN.search(text) is not None
    # Digit-only answers ("6222 0202 ...") are language-neutral and allowed in both folders.
    has_letters = any(ch.isalpha() for ch in text)
    if lang == "zh" and has_letters and not has_han:
        raise ValueError("a zh example must contain Chinese characters (put English lines in en/)")
    if lang == "en" and has_han:
        raise ValueError("an en example must not contain Chinese characters (put them in zh/)")


def _invalid(file: Path, exc: ValidationError) -> TrainingDataError:
    """The first problem pydantic found, named by its path inside ``file`` (``examples[3]``)."""
    first = exc.errors()[0]
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
    return TrainingDataError(file, path, first["msg"])


def _load_file(file: Path, lang: Lang) -> list[Example]:
    try:
        raw = safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TrainingDataError(file, "", f"cannot read YAML: {exc}") from exc
    try:
        content = _IntentFile.model_validate(raw)
    except ValidationError as exc:
        raise _invalid(file, exc) from exc
    if content.lang != lang:
        raise TrainingDataError(file, "lang", f"says {content.lang!r} but the file is in the {lang!r} folder")
    if content.intent.value != file.stem:
        raise TrainingDataError(file, "intent", f"says {content.intent.value!r} but the file is {file.name}")
    examples: list[Example] = []
    for i, line in enumerate(content.examples):
        where = f"examples[{i}]"
        try:
            text, slots = parse_annotated(line.strip())
            if not text.strip():
                raise ValueError("empty example")
            _check_script(text, lang)
        except ValueError as exc:
            raise TrainingDataError(file, where, str(exc)) from exc
        examples.append(
            Example(text=text, intent=content.intent, lang=lang, slots=slots, source=f"{file}: {where}")
        )
    return examples


def load_training_data(root: Path) -> list[Example]:
    """Read every ``<root>/<lang>/<intent>.yaml``, validate it, and return all examples.

    The order is deterministic (language, then file name, then line), so a model trained
    with a fixed seed sees the same sequence every time.
    """
    if not root.is_dir():
        raise TrainingDataError(root, "", "training-data folder not found")
    examples: list[Example] = []
    seen: dict[str, str] = {}
    for lang in LANGUAGES:
        folder = root / lang
        if not folder.is_dir():
            raise TrainingDataError(folder, "", f"missing folder for language {lang!r}")
        stray = sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix != ".yaml")
        if stray:
            raise TrainingDataError(folder, "", f"unexpected files (only <intent>.yaml): {stray}")
        for file in sorted(folder.glob("*.yaml")):
            if file.stem not in {i.value for i in Intent}:
                raise TrainingDataError(file, "", f"unknown intent {file.stem!r}")
            for example in _load_file(file, lang):
                key = dedup_key(example.text)
                if key in seen:
                    file_part, _, path_part = example.source.rpartition(": ")
                    raise TrainingDataError(Path(file_part), path_part, f"duplicate of {seen[key]}")
                seen[key] = example.source
                examples.append(example)
    return examples


CALIBRATION_FILE = "calibration.yaml"


class Calibration(BaseModel):
    """``<root>/calibration.yaml``: run-time figures chosen on evaluation data, not learnt in training.

    The trained out-of-scope threshold is calibrated on held-out *training* lines, which are
    written like the rest of the training data; a threshold chosen on independently written
    development sets (docs/nlu.md) is what customers meet. Absent file or value: the trained one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    out_of_scope_threshold: float | None = Field(
        default=None, gt=0, lt=1,
        description="below this confidence in its best intent the model answers out_of_scope",
    )
    chosen_on: str = Field(default="", description="which sets, by which rule (for the auditor)")


def load_calibration(root: Path) -> Calibration:
    """Read and validate ``<root>/calibration.yaml`` (an empty :class:`Calibration` when absent)."""
    file = root / CALIBRATION_FILE
    if not file.is_file():
        return Calibration()
    try:
        raw = safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TrainingDataError(file, "", f"cannot read YAML: {exc}") from exc
    try:
        return Calibration.model_validate(raw or {})
    except ValidationError as exc:
        raise _invalid(file, exc) from exc


def count_by_intent(examples: list[Example]) -> dict[tuple[Lang, Intent], int]:
    """Number of examples per (language, intent); absent pairs are reported as 0."""
    counter = Counter((e.lang, e.intent) for e in examples)
    return {(lang, intent): counter.get((lang, intent), 0) for lang in LANGUAGES for intent in Intent}


def fingerprint(examples: list[Example]) -> str:
    """SHA-256 over the examples' content (not their file locations): a cache key for artifacts."""
    digest = hashlib.sha256()
    for e in examples:
        slots = ";".join(f"{s.name.value}={s.start}:{s.end}" for s in e.slots)
        digest.update(f"{e.lang}\t{e.intent.value}\t{e.text}\t{slots}\n".encode())
    return digest.hexdigest()

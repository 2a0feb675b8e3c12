"""No evaluation line is a training line: every CSV under tests/data/nlu/ against dialogs/nlu/.

Lines are compared as the loader compares duplicates (``vtm.nlu.data.dedup_key``: NFKC, case
folding, no spaces or punctuation), so "不对，是五百" in a test set and "不对是五百" in training
count as the same line. The check covers the old regression set, our dev set and the blind set
(``tests/data/nlu/blind/``), whichever exist.

A failure names the CSV file and row number and the training file and index, never the text:
the blind set is written to be read by nobody on the model side, and a test log is read.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from vtm.nlu.data import Example, dedup_key, load_training_data

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data" / "nlu"


def overlapping_rows(examples: list[Example], csv_file: Path) -> list[str]:
    """``"file:row = training source"`` for every row of ``csv_file`` equal to a training line."""
    training = {dedup_key(e.text): e.source for e in examples}
    found: list[str] = []
    with csv_file.open(encoding="utf-8", newline="") as handle:
        for row_number, row in enumerate(csv.DictReader(handle), start=2):  # row 1 is the header
            source = training.get(dedup_key(row["text"]))
            if source is not None:
                found.append(f"{csv_file.relative_to(csv_file.parents[1])}:{row_number} = {source}")
    return found


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return load_training_data(ROOT / "dialogs" / "nlu")


def test_the_evaluation_csvs_that_must_be_checked_are_found() -> None:
    found = {p.relative_to(DATA).as_posix() for p in DATA.rglob("*.csv")}
    assert {"intent_test.csv", "dev/zh.csv", "dev/en.csv"} <= found


@pytest.mark.parametrize(
    "csv_file", sorted(DATA.rglob("*.csv")), ids=lambda p: p.relative_to(DATA).as_posix()
)
def test_no_evaluation_line_occurs_in_the_training_data(examples: list[Example], csv_file: Path) -> None:
    assert overlapping_rows(examples, csv_file) == []


def test_the_check_finds_a_line_that_differs_only_in_case_space_and_punctuation(
    examples: list[Example], tmp_path: Path
) -> None:
    zh = next(e for e in examples if e.lang == "zh" and len(e.text) > 4)
    en = next(e for e in examples if e.lang == "en" and " " in e.text)
    folder = tmp_path / "set"
    folder.mkdir()
    leaked = folder / "leaked.csv"
    with leaked.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "intent", "lang"])
        writer.writerow(["一句从没写进训练数据的话", "out_of_scope", "zh"])
        writer.writerow([f"{zh.text[:2]}，{zh.text[2:]}。", zh.intent.value, "zh"])
        writer.writerow([f"  {en.text.upper()}!! ", en.intent.value, "en"])
    assert overlapping_rows(examples, leaked) == [
        f"set/leaked.csv:3 = {zh.source}",
        f"set/leaked.csv:4 = {en.source}",
    ]

"""The fraud detector's evaluation sets: well formed, and none of their lines is an exemplar.

Every CSV directly under ``tests/data/fraud/`` (``text,label,fraud_type,lang``) was written by someone who
never read ``compliance/fraud_exemplars.yaml``; the sets measure meaning only while no line of
theirs has been copied into the exemplars. Lines are compared folded (``vtm.compliance.matching.fold``:
simplified Chinese, NFKC, lower case, no spaces or punctuation). A failure names the file and row,
never the text: the held-out sets are meant to be read by nobody who edits the exemplars.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from vtm.compliance import load_pack
from vtm.compliance.exemplars import is_bare
from vtm.compliance.matching import fold

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data" / "fraud"
SETS = sorted(DATA.glob("*.csv"))
FORMER = sorted((DATA / "former").glob("*.csv"))


@pytest.fixture(scope="module")
def exemplar_keys() -> set[str]:
    exemplars = load_pack(ROOT / "compliance" / "policy.yaml").exemplars
    assert exemplars is not None
    return {fold(line.text) for line in exemplars.all}


def test_the_held_out_sets_are_found() -> None:
    assert {"calibration.csv", "dev.csv", "blind16.csv"} <= {path.name for path in SETS}
    former = {"blind.csv", "blind7.csv", "blind8.csv", "blind14.csv", "blind15.csv", "train15.csv"}
    assert former <= {path.name for path in FORMER}


@pytest.mark.parametrize("path", FORMER, ids=lambda p: p.name)
def test_every_row_of_a_former_held_out_set_is_an_exemplar_now(path: Path, exemplar_keys: set[str]) -> None:
    """``former/``: sets read for development whose rows became exemplars (all but the bare fraud
    rows, too short to be a fraud line: ``vtm.compliance.exemplars.is_bare``). The calibration scores
    each by an index without its own lines (``bench/fraud.py --former``), which is only a fair
    stand-in for a new writer if all of the set's lines are what is left out."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows
    missing = [f"{path.name}:{n}" for n, row in enumerate(rows, start=2) if fold(row["text"]) not in exemplar_keys
               and not (row["label"] == "fraud" and is_bare(row["text"], row["lang"]))]
    assert missing == []


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_every_row_is_labelled_and_no_row_is_an_exemplar(path: Path, exemplar_keys: set[str]) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows
    malformed = [n for n, row in enumerate(rows, start=2)
                 if row["label"] not in ("fraud", "benign") or row["lang"] not in ("zh", "en")
                 or (row["label"] == "fraud" and not row["fraud_type"].strip()) or not row["text"].strip()]
    assert malformed == []
    copied = [f"{path.name}:{n}" for n, row in enumerate(rows, start=2) if fold(row["text"]) in exemplar_keys]
    assert copied == []

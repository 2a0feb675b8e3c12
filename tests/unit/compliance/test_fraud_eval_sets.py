"""The fraud detector's evaluation sets: well formed, and none of their lines is an exemplar.

Every CSV under ``tests/data/fraud/`` (``text,label,fraud_type,lang``) was written by someone who
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
from vtm.compliance.matching import fold

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data" / "fraud"
SETS = sorted(DATA.glob("*.csv"))


@pytest.fixture(scope="module")
def exemplar_keys() -> set[str]:
    exemplars = load_pack(ROOT / "compliance" / "policy.yaml").exemplars
    assert exemplars is not None
    return {fold(line.text) for line in exemplars.all}


def test_the_held_out_sets_are_found() -> None:
    assert {"calibration.csv", "blind.csv", "blind2.csv", "blind3.csv"} <= {path.name for path in SETS}


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

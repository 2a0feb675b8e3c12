"""The NLU on the independent evaluation set, through the real command: the acceptance bars.

Slow: prepares e5 (cached in the models folder), trains the intent model if it is not cached
(a few minutes on one thread), then runs ``vtm nlu evaluate`` on ``tests/data/nlu``.
Set ``VTM_MODELS_DIR`` to reuse a prepared models folder between runs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "nlu"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    env = {"VTM_DATA_DIR": str(tmp_path_factory.mktemp("data"))}
    if "VTM_MODELS_DIR" in os.environ:
        env["VTM_MODELS_DIR"] = os.environ["VTM_MODELS_DIR"]
    from vtm.cli import app

    runner = CliRunner()
    trained = runner.invoke(app, ["nlu", "train"], env=env)
    assert trained.exit_code == 0, trained.output
    result = runner.invoke(
        app,
        [
            "nlu",
            "evaluate",
            str(DATA / "intent_test.csv"),
            "--json",
            "--slots",
            str(DATA / "slots_test.yaml"),
            "--baseline",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    parsed: dict[str, object] = json.loads(result.stdout)
    return parsed


def test_intent_accuracy_reaches_092_in_each_language(report: dict[str, dict[str, object]]) -> None:
    by_lang = report["model"]["accuracy_by_lang"]
    assert set(by_lang) == {"zh", "en"}  # type: ignore[arg-type]
    assert all(acc >= 0.92 for acc in by_lang.values()), by_lang  # type: ignore[attr-defined]


def test_out_of_scope_recall_reaches_085(report: dict[str, dict[str, object]]) -> None:
    assert report["model"]["out_of_scope_recall"] >= 0.85  # type: ignore[operator]


def test_the_model_beats_the_tfidf_baseline(report: dict[str, dict[str, object]]) -> None:
    assert report["model"]["accuracy"] > report["baseline"]["accuracy"]  # type: ignore[operator]


@pytest.mark.parametrize("slot", ["amount", "card_number", "card_last4", "date_range", "payee_name"])
def test_slot_f1_reaches_090(report: dict[str, dict[str, dict[str, dict[str, float]]]], slot: str) -> None:
    assert report["slots"]["per_slot"][slot]["f1"] >= 0.90, report["slots"]["per_slot"][slot]

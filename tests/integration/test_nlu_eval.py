"""The NLU on the evaluation sets, through the real command: the acceptance bars.

Slow: prepares e5 (cached in the models folder), trains the intent model if it is not cached
(a few minutes on one thread), then runs ``vtm nlu evaluate``:

- on the blind set ``tests/data/nlu/blind/{zh,en}.csv`` (written by someone who never read the
  training data): a regression floor below the measured figures, with room for the few points that
  training on another CPU may move. Measured with the round-4 model (``docs/benchmarks.md``):
  accuracy 0.933 zh / 0.940 en (0.906 / 0.917 before), out-of-scope recall 0.847 / 0.896 (0.873 /
  0.887 before). The out-of-scope threshold is now the middle of the held-out plateau rather than
  its top (0.460 against 0.536), which trades Mandarin out-of-scope recall on this set for
  accuracy; the recall floor moved from 0.85 to 0.82 with it, deliberately and written down here.
  The targets of issue 12 (0.93, 0.90) are tracked on each round's fresh held-out set in
  ``docs/benchmarks.md`` (blind11 for round 12: both languages meet both, intent alone);
- on the old set ``tests/data/nlu/intent_test.csv`` as a regression check (no line of it is in
  the training data any more), with the slot rules and the TF-IDF baseline;
- on the dev set ``tests/data/nlu/dev/`` (ours, used for model choices): the report carries
  per-language and per-kind figures.

Set ``VTM_MODELS_DIR`` to reuse a prepared models folder between runs. The blind set is only
for measuring: run its test deliberately (``-k blind``), and never tune on what it says.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "nlu"
BLIND = [DATA / "blind" / "zh.csv", DATA / "blind" / "en.csv"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    env = {"VTM_DATA_DIR": str(tmp_path_factory.mktemp("data"))}
    if "VTM_MODELS_DIR" in os.environ:
        env["VTM_MODELS_DIR"] = os.environ["VTM_MODELS_DIR"]
    from vtm.cli import app

    trained = CliRunner().invoke(app, ["nlu", "train"], env=env)
    assert trained.exit_code == 0, trained.output
    return env


def _evaluate(env: dict[str, str], *args: str) -> dict[str, Any]:
    from vtm.cli import app

    result = CliRunner().invoke(app, ["nlu", "evaluate", *args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


@pytest.fixture(scope="module")
def regression(env: dict[str, str]) -> dict[str, Any]:
    return _evaluate(
        env, str(DATA / "intent_test.csv"), "--slots", str(DATA / "slots_test.yaml"), "--baseline"
    )


def test_the_old_set_stays_at_092_in_each_language(regression: dict[str, Any]) -> None:
    by_lang = regression["model"]["accuracy_by_lang"]
    assert set(by_lang) == {"zh", "en"}
    assert all(acc >= 0.92 for acc in by_lang.values()), by_lang


def test_out_of_scope_recall_on_the_old_set_reaches_085(regression: dict[str, Any]) -> None:
    assert regression["model"]["out_of_scope_recall"] >= 0.85


def test_the_model_beats_the_tfidf_baseline(regression: dict[str, Any]) -> None:
    assert regression["model"]["accuracy"] > regression["baseline"]["accuracy"]


@pytest.mark.parametrize("slot", ["amount", "card_number", "card_last4", "date_range", "payee_name"])
def test_slot_f1_reaches_090(regression: dict[str, Any], slot: str) -> None:
    assert regression["slots"]["per_slot"][slot]["f1"] >= 0.90, regression["slots"]["per_slot"][slot]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_dev_set_is_reported_per_language_and_per_kind(env: dict[str, str], lang: str) -> None:
    report = _evaluate(env, str(DATA / "dev" / f"{lang}.csv"))["model"]
    assert set(report["accuracy_by_lang"]) == {lang}
    assert {"question", "neighbour", "colloquial", "context"} <= set(report["by_kind"])
    assert all(0.0 <= k["accuracy"] <= 1.0 and k["n"] > 0 for k in report["by_kind"].values())


@pytest.mark.parametrize("csv_file", BLIND, ids=lambda p: p.stem)
def test_the_blind_set_does_not_fall_below_its_regression_floor(env: dict[str, str], csv_file: Path) -> None:
    report = _evaluate(env, str(csv_file))["model"]
    assert all(acc >= 0.90 for acc in report["accuracy_by_lang"].values()), report["accuracy_by_lang"]
    assert report["out_of_scope_recall"] >= 0.82, report["out_of_scope_recall"]

"""The out-of-scope threshold: trained (the middle of the best held-out plateau, never above the bound),
and the calibrated one that replaces it at run time."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vtm.nlu.data import TrainingDataError, load_calibration
from vtm.nlu.model.config import TrainConfig
from vtm.nlu.model.train import _threshold

OOS = 2
ROOT = Path(__file__).resolve().parents[3]


def _probs(confidences: list[float], predicted: list[int]) -> torch.Tensor:
    rows = []
    for conf, label in zip(confidences, predicted, strict=True):
        row = [(1 - conf) / 2] * 3
        row[label] = conf
        rows.append(row)
    return torch.tensor(rows)


def test_the_median_of_equally_good_thresholds_is_kept_not_the_highest() -> None:
    # In-scope lines all right and confident; out-of-scope lines predicted in scope at low confidence.
    # Any threshold in (0.45, 0.6] separates them perfectly: the candidates 0.5 and 0.55 and 0.6 tie.
    confidences = [0.9, 0.95, 0.92, 0.97, 0.45, 0.5, 0.55, 0.6, 0.3]
    predicted = [0, 1, 0, 1, 0, 1, 0, 1, 0]
    labels = torch.tensor([0, 1, 0, 1, OOS, OOS, OOS, OOS, OOS])
    threshold, final = _threshold(_probs(confidences, predicted), labels, OOS, TrainConfig(in_scope_rejection=0.0))
    assert threshold == pytest.approx(0.9)  # only 0.9 (the bound) reaches recall 1.0 with all in-scope kept
    loose = TrainConfig(in_scope_rejection=0.0, threshold_plateau=0.2)
    threshold, _ = _threshold(_probs(confidences, predicted), labels, OOS, loose)
    assert threshold == pytest.approx(0.6)  # plateau 0.55 / 0.6 / 0.9 (scores 0.8 / 0.9 / 1.0): its middle
    assert final.tolist()[:4] == [0, 1, 0, 1]
    assert set(final.tolist()[4:]) == {OOS}


def test_the_threshold_never_exceeds_the_in_scope_bound() -> None:
    confidences = [0.5, 0.6, 0.7, 0.8, 0.9, 0.55]
    predicted = [0, 1, 0, 1, 0, 1]
    labels = torch.tensor([0, 1, 0, 1, 0, OOS])
    config = TrainConfig(in_scope_rejection=0.1)
    threshold, _ = _threshold(_probs(confidences, predicted), labels, OOS, config)
    bound = float(torch.quantile(torch.tensor([0.5, 0.6, 0.7, 0.8, 0.9]), 0.1))
    assert threshold <= bound


# The run-time calibration (dialogs/nlu/calibration.yaml) -------------------------------------------
def test_the_shipped_calibration_is_valid_and_names_how_it_was_chosen() -> None:
    calibration = load_calibration(ROOT / "dialogs" / "nlu")
    assert calibration.out_of_scope_threshold is not None
    assert 0 < calibration.out_of_scope_threshold < 1
    assert "blind" in calibration.chosen_on


def test_no_calibration_file_keeps_the_trained_threshold(tmp_path: Path) -> None:
    assert load_calibration(tmp_path).out_of_scope_threshold is None


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("out_of_scope_threshold: 1.5\n", "out_of_scope_threshold", "less than 1"),
        ("out_of_scope_threshold: 0.5\nthreshold: 0.4\n", "threshold", "Extra inputs"),
        ("out_of_scope_threshold: [0.5\n", "", "cannot read YAML"),
    ],
)
def test_a_broken_calibration_file_is_named_with_the_path_inside_it(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    (tmp_path / "calibration.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(TrainingDataError, match=message) as caught:
        load_calibration(tmp_path)
    assert caught.value.file == tmp_path / "calibration.yaml"
    assert caught.value.path == where

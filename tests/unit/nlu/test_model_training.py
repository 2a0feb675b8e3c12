"""Training, caching and calibrated prediction of the intent model, on a small slice of the data.

Slow (real e5, real training with one thread): a reduced schedule keeps it under a minute.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vtm.nlu.data import Example, load_training_data
from vtm.nlu.encoder_files import e5_dir, prepare_e5
from vtm.nlu.model import ArtifactMissing, IntentClassifier, TrainConfig, model_inputs
from vtm.nlu.model.encoder import E5Encoder
from vtm.nlu.model.train import train_intent_head

ROOT = Path(__file__).resolve().parents[3]
INTENTS = ("report_card_lost", "check_balance", "greeting", "out_of_scope")
SMALL = TrainConfig(tuned_layers=1, epochs=3, holdout_fraction=0.2)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def models_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models")
    prepare_e5(path)
    return path


@pytest.fixture(scope="module")
def encoder(models_path: Path) -> E5Encoder:
    torch.set_num_threads(1)
    return E5Encoder.load(e5_dir(models_path))


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    chosen = [e for e in load_training_data(ROOT / "dialogs" / "nlu") if e.intent.value in INTENTS]
    return chosen[::3]  # every third line keeps both languages and all four intents


def test_training_is_deterministic_for_a_seed(encoder: E5Encoder, examples: list[Example]) -> None:
    items = model_inputs(examples)[::2]
    config = TrainConfig(tuned_layers=1, epochs=1, holdout_fraction=0.2)
    first = train_intent_head(encoder, items, config).head.state_dict()
    second = train_intent_head(encoder, items, config).head.state_dict()
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)


@pytest.mark.parametrize("steps", [1, 2, 3, 10, 11])
def test_training_runs_whatever_the_number_of_optimiser_steps(
    encoder: E5Encoder, examples: list[Example], steps: int
) -> None:
    # The learning-rate schedule once divided by zero when its warm-up rounded to no step (10 steps).
    items = model_inputs(examples)
    config = TrainConfig(tuned_layers=0, epochs=1, batch_size=8, holdout_fraction=0.2, knn_weights=(0.0,))
    fit_rows = steps * config.batch_size  # the held-out fifth is not trained on
    outcome = train_intent_head(encoder, items[: round(fit_rows / 0.8)], config)
    assert outcome.head is not None


def test_a_trained_model_is_cached_and_reloaded_without_training(
    models_path: Path, encoder: E5Encoder, examples: list[Example]
) -> None:
    stages: list[str] = []
    trained = IntentClassifier.obtain(
        models_path,
        examples,
        SMALL,
        train_if_missing=True,
        encoder=encoder,
        progress=lambda stage, done, total: stages.append(stage),
    )
    assert {"encode", "training run"} <= set(stages)
    assert "final run" not in stages  # refit_on_all is off: one training run
    reloaded = IntentClassifier.obtain(
        models_path, examples, SMALL, encoder=encoder
    )  # would raise if missing
    assert reloaded.meta.key == trained.meta.key
    assert (models_path / "nlu" / trained.meta.key / "head.pt").is_file()
    texts = ["我的卡丢了", "how much money is left in my account"]
    assert [p.intent for p in reloaded.predict_many(texts)] == [p.intent for p in trained.predict_many(texts)]
    assert [p.intent for p in trained.predict_many(texts)] == ["report_card_lost", "check_balance"]


def test_changed_training_data_is_not_served_by_an_old_model(
    models_path: Path, encoder: E5Encoder, examples: list[Example]
) -> None:
    IntentClassifier.obtain(models_path, examples, SMALL, train_if_missing=True, encoder=encoder)
    with pytest.raises(ArtifactMissing):
        IntentClassifier.obtain(models_path, examples[1:], SMALL, encoder=encoder)


def test_calibration_comes_from_held_out_training_examples(
    models_path: Path, encoder: E5Encoder, examples: list[Example]
) -> None:
    meta = IntentClassifier.obtain(models_path, examples, SMALL, train_if_missing=True, encoder=encoder).meta
    assert 0 < meta.holdout_size < meta.train_examples
    assert 0.0 < meta.threshold < 1.0
    assert meta.temperature > 0


def test_the_example_bank_holds_every_training_line_and_its_weight_comes_from_held_out_data(
    models_path: Path, encoder: E5Encoder, examples: list[Example]
) -> None:
    classifier = IntentClassifier.obtain(models_path, examples, SMALL, train_if_missing=True, encoder=encoder)
    meta = classifier.meta
    assert len(classifier.bank) == meta.train_examples == len(examples)
    assert meta.knn_weight in SMALL.knn_weights
    assert meta.knn_temperature in SMALL.knn_temperatures
    assert meta.holdout_head_accuracy is not None
    # With the bank's weight forced to 1 the answer is the vote of the nearest training lines:
    # a training line's own text finds itself first.
    line = next(e for e in examples if e.intent.value == "check_balance")
    bank_only = IntentClassifier(
        encoder, classifier.head, meta.model_copy(update={"knn_weight": 1.0, "threshold": 0.0}), classifier.bank
    )
    assert bank_only.predict(model_inputs([line])[0].text).intent == "check_balance"


def test_below_the_threshold_the_answer_is_out_of_scope(
    models_path: Path, encoder: E5Encoder, examples: list[Example]
) -> None:
    trained = IntentClassifier.obtain(models_path, examples, SMALL, train_if_missing=True, encoder=encoder)
    strict = IntentClassifier(
        encoder, trained.head, trained.meta.model_copy(update={"threshold": 1.01}), trained.bank
    )
    prediction = strict.predict("我的卡丢了")
    assert prediction.intent == "out_of_scope"
    assert 0.0 <= prediction.confidence <= 1.0
    assert prediction.ranking[0][0] == "report_card_lost"  # the ranking still shows what it thought


def test_int8_frozen_layers_train_and_predict_consistently(
    models_path: Path, examples: list[Example]
) -> None:
    encoder = E5Encoder.load(e5_dir(models_path))  # its own copy: quantization is in place
    config = TrainConfig(tuned_layers=1, epochs=3, holdout_fraction=0.2, int8_frozen_layers=True)
    classifier = IntentClassifier.obtain(
        models_path, examples, config, train_if_missing=True, encoder=encoder
    )
    assert encoder.quantized_below == 11
    assert classifier.predict("我的卡丢了").intent == "report_card_lost"
    with pytest.raises(ValueError, match="already quantized"):
        encoder.quantize_below(10)
    with pytest.raises(ValueError, match="float encoder"):
        IntentClassifier.obtain(models_path, examples, SMALL, encoder=encoder)

"""The fraud check and the knowledge base embed what the intent model has just read: the frozen lower
layers are reused, and the sentence vector is the one e5 gives on its own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from vtm.nlu.encoder_files import e5_dir
from vtm.nlu.model.encoder import E5Encoder

TEXTS = ["我的银行卡丢了", "send 45 yuan to Li Na", "派出所打电话说我的卡牵扯到案子，要我把钱转到指定账户核查"]


@pytest.fixture(scope="module")
def encoder() -> E5Encoder:
    return E5Encoder.load(e5_dir(Path(os.environ["VTM_MODELS_DIR"])))


def test_an_embedding_after_the_intent_model_equals_e5_alone(encoder: E5Encoder) -> None:
    alone = encoder.embed(TEXTS)  # a batch: e5's own forward pass
    with torch.inference_mode():
        for text in TEXTS:
            encoder.hidden_below(encoder.tokenize([text]), 10)  # what the intent model runs first
    for row, text in enumerate(TEXTS):
        torch.testing.assert_close(encoder.embed([text])[0], alone[row], atol=1e-5, rtol=0)


def test_the_shared_layers_are_run_once_per_text(encoder: E5Encoder, monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[int] = []
    original = encoder._run_below
    monkeypatch.setattr(encoder, "_run_below", lambda tokens, split: runs.append(split) or original(tokens, split))
    text = "帮我查一下卡里还剩多少钱，谢谢"
    with torch.inference_mode():
        encoder.hidden_below(encoder.tokenize([text]), 10)
    encoder.embed([text])
    encoder.embed([text])
    assert runs == [10]


def test_training_batches_are_not_remembered(encoder: E5Encoder, monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[int] = []
    original = encoder._run_below
    monkeypatch.setattr(encoder, "_run_below", lambda tokens, split: runs.append(split) or original(tokens, split))
    tokens = encoder.tokenize(["一句训练用的话", "another training line"])
    with torch.inference_mode():
        encoder.hidden_below(tokens, 10)
        encoder.hidden_below(tokens, 10)
    assert runs == [10, 10]

"""``NluParser`` and ``vtm nlu parse --json`` on a model trained from a slice of the real data.

Slow: trains the default schedule on three intents (about a minute on one thread).
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from vtm.nlu.encoder_files import prepare_e5
from vtm.nlu.parser import NluParser

ROOT = Path(__file__).resolve().parents[3]
INTENTS = ("report_card_lost", "transfer_money", "out_of_scope")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    content = tmp_path_factory.mktemp("content")
    for lang in ("zh", "en"):
        target = content / "dialogs" / "nlu" / lang
        target.mkdir(parents=True)
        for intent in INTENTS:
            shutil.copyfile(ROOT / "dialogs" / "nlu" / lang / f"{intent}.yaml", target / f"{intent}.yaml")
    data = tmp_path_factory.mktemp("data")
    prepare_e5(data / "models")
    # Its own models folder: the suite-wide VTM_MODELS_DIR (tests/conftest.py) must not leak in.
    environment = {"VTM_DATA_DIR": str(data), "VTM_CONTENT_DIR": str(content), "VTM_MODELS_DIR": str(data / "models")}
    from vtm.cli import app

    result = CliRunner().invoke(app, ["nlu", "train"], env=environment)
    assert result.exit_code == 0, result.output
    return environment


@pytest.fixture(scope="module")
def parser(env: dict[str, str]) -> NluParser:
    return NluParser(Path(env["VTM_DATA_DIR"]) / "models", Path(env["VTM_CONTENT_DIR"]) / "dialogs" / "nlu")


def test_parse_json_follows_the_cli_contract(env: dict[str, str]) -> None:
    from vtm.cli import app

    result = CliRunner().invoke(
        app, ["nlu", "parse", "给张三转五百块", "--json", "--today", "2026-11-23"], env=env
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"text", "lang", "intent", "confidence", "slots"}
    assert payload["lang"] == "zh"
    assert payload["intent"] == "transfer_money"
    assert 0.0 <= payload["confidence"] <= 1.0
    amount = next(s for s in payload["slots"] if s["name"] == "amount")
    assert amount["value"] == "500"
    assert "给张三转五百块"[amount["start"] : amount["end"]] == "五百块"


def test_parse_without_a_trained_model_says_what_to_do(tmp_path: Path, env: dict[str, str]) -> None:
    from vtm.cli import app

    other = {**env, "VTM_DATA_DIR": str(tmp_path), "VTM_MODELS_DIR": str(tmp_path / "models")}
    prepare_e5(tmp_path / "models")
    result = CliRunner().invoke(app, ["nlu", "parse", "hello", "--json"], env=other)
    assert result.exit_code == 1
    assert "vtm nlu train" in result.output


def test_a_calibrated_threshold_replaces_the_trained_one(env: dict[str, str], tmp_path: Path) -> None:
    content = Path(env["VTM_CONTENT_DIR"]) / "dialogs" / "nlu"
    calibrated = tmp_path / "nlu"
    shutil.copytree(content, calibrated)
    models = Path(env["VTM_DATA_DIR"]) / "models"
    trained = NluParser(models, calibrated)
    # A request the model takes for a task with some doubt: a threshold above its confidence turns it away.
    # Short, vague words; which of them leave doubt depends on the training lines, so there are many.
    vague = ("卡", "转", "我的卡", "card", "money please", "卡丢了吧", "被偷了", "money", "send", "my wallet", "银行卡",
             "那张卡", "钱", "pay", "丢了", "lost", "转一下", "the card")
    text, intent, confidence = next(
        (t, p.intent, p.confidence) for t in vague
        if (p := trained.parse(t, None)).intent != "out_of_scope" and p.confidence < 0.98
    )
    assert trained.classifier.threshold <= confidence
    (calibrated / "calibration.yaml").write_text(
        f"out_of_scope_threshold: {(confidence + 1) / 2:.4f}\n", encoding="utf-8"
    )
    strict = NluParser(models, calibrated)
    assert strict.classifier.threshold == pytest.approx((confidence + 1) / 2, abs=1e-4)
    assert strict.classifier.meta.threshold == trained.classifier.meta.threshold  # same artifact, not retrained
    assert trained.parse(text, None).intent == intent
    assert strict.parse(text, None).intent == "out_of_scope"


def test_english_is_detected_and_understood(parser: NluParser) -> None:
    result = parser.parse("I think somebody stole my card", today=date(2026, 11, 23))
    assert (result.lang, result.intent) == ("en", "report_card_lost")


def test_an_empty_utterance_is_out_of_scope_with_no_slots(parser: NluParser) -> None:
    result = parser.parse("   ")
    assert (result.intent, result.slots) == ("out_of_scope", [])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=80))
def test_the_parser_never_raises_on_arbitrary_unicode(parser: NluParser, text: str) -> None:
    result = parser.parse(text, today=date(2026, 11, 23))
    assert result.intent in {*INTENTS, "out_of_scope"}
    assert 0.0 <= result.confidence <= 1.0

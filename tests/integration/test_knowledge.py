"""The knowledge base with the real encoders, through its API and the ``vtm kb`` commands.

Slow: loads multilingual-e5-small from the prepared models folder (``VTM_MODELS_DIR``) and
all-MiniLM-L6-v2 from its package, and embeds every entry once (cached there afterwards). The
development sets (``tests/data/kb/dev.csv``, ``blind.csv``, ``blind2_labelled.csv``, ``blind8/``;
``knowledge/settings.yaml`` says which calibrate what) tune the retrieval; the bars below guard
against regressions on two of them, and report aggregate figures only, never a question.
Acceptance figures come from each round's held-out set, run once (``docs/benchmarks.md``,
"Knowledge answers").
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vtm.knowledge import KnowledgeBase

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT / "tests" / "data" / "kb" / "dev.csv"
HELD_OUT = ROOT / "tests" / "data" / "kb" / "blind2_labelled.csv"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def models() -> Path:
    path = Path(os.environ["VTM_MODELS_DIR"])
    if not (path / "multilingual-e5-small" / "config.json").is_file():
        pytest.fail(f"e5 is not prepared in {path}; run `vtm models prepare`")
    return path


@pytest.fixture(scope="module")
def kb(models: Path) -> KnowledgeBase:
    import torch

    torch.set_num_threads(1)
    return KnowledgeBase.load(ROOT, models)


@pytest.fixture(scope="module")
def cli_env(models: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {"VTM_DATA_DIR": str(tmp_path_factory.mktemp("data")), "VTM_MODELS_DIR": str(models)}


@pytest.mark.parametrize(
    ("text", "lang", "entry"),
    [
        # Answered right since round 11 (the former blind sets as phrasings); a known miss before it.
        ("卡刚丢了，怎么让它不能用", "zh", "card_loss.how_to_report"),
        ("临时挂失过了几天会失效", "zh", "card_loss.temporary_validity"),
        ("密码连着输错几回会锁住", "zh", "pin.attempts"),
        ("为啥在机器上转账第二天才到", "zh", "transfers.delay_24h"),
        ("流水能打多久以前的", "zh", "statements.max_period"),
        ("有个自称公安的让我把钱转到安全账户", "zh", "fraud.safe_account"),
        ("for how many days is a temporary loss report valid", "en", "card_loss.temporary_validity"),
        ("what is the daily limit for kiosk transfers", "en", "transfers.daily_limit"),
        # A known miss from round 11 (e5 ranked revoke.after_arrival first by 0.012) until round 15 added
        # all-MiniLM-L6-v2's opinion on English questions.
        ("how can I take back a transfer before it arrives", "en", "revoke.how"),
        ("I forgot the PIN of my debit card", "en", "pin.forgotten"),
    ],
)
def test_paraphrases_are_answered_with_the_right_entry(kb: KnowledgeBase, text: str, lang: str, entry: str) -> None:
    result = kb.ask(text, "zh" if lang == "zh" else "en")
    assert result.answered, (text, result.candidates[:3])
    assert result.entry_id == entry


@pytest.mark.parametrize(
    ("text", "lang"),
    [("今天晚上吃什么好", "zh"), ("帮我查一下火车时刻表", "zh"), ("你觉得哪个足球队会赢", "zh"),
     ("what's the capital of France", "en"), ("play some music for me", "en"), ("how tall is the tower", "en")],
)
def test_unrelated_questions_are_declined_with_the_handoff_prompt(kb: KnowledgeBase, text: str, lang: str) -> None:
    result = kb.ask(text, "zh" if lang == "zh" else "en")
    assert not result.answered, (text, result.candidates[:3])
    assert result.entry_id is None
    assert result.spoken == (kb.content.settings.decline.zh if lang == "zh" else kb.content.settings.decline.en)


@pytest.mark.parametrize(
    ("ours", "theirs", "lang"),
    [("手机银行怎么开通", "建行的手机银行怎么开通", "zh"),
     ("客服电话是多少", "工商银行的客服电话是多少", "zh"),
     ("what's your customer service phone number", "What's Alipay's customer service phone number?", "en")],
)
def test_a_question_about_another_banks_service_is_declined_not_answered_as_ours(
    kb: KnowledgeBase, ours: str, theirs: str, lang: str
) -> None:
    language = "zh" if lang == "zh" else "en"
    assert kb.ask(ours, language).answered, ours
    ranking = kb.assess(theirs, language)
    assert ranking.names_other
    assert ranking.candidates[0].score >= kb.settings.threshold.of(language)  # close enough by similarity...
    result = kb.ask(theirs, language)
    assert not result.answered, (theirs, result.candidates[:3])  # ...but about another institution


@pytest.mark.parametrize(
    ("text", "entry", "about_other"),
    [("转账到建设银行要手续费吗", "transfers.fee", False),  # the other bank is the payee's: our transfer
     ("我的卡能绑到支付宝上吗", "ebanking.payment_apps", True)],  # an entry about binding cards in the apps
)
def test_a_bank_named_as_the_payees_or_by_an_entry_about_it_is_still_answered(
    kb: KnowledgeBase, text: str, entry: str, about_other: bool
) -> None:
    assert kb.assess(text, "zh").names_other is about_other
    result = kb.ask(text, "zh")
    assert result.entry_id == entry, (text, result.candidates[:3])


def test_an_answer_quotes_the_policy_figure(kb: KnowledgeBase) -> None:
    # The entry's own title as the question: this test is about the templated figure, not about ranking
    # (a paraphrase, 一天最多能在这台机器上转多少钱, ranks transfers.single_limit first by 0.009 since round 11).
    result = kb.ask("每天最多能转多少钱", "zh")
    assert result.entry_id == "transfers.daily_limit"
    assert "5万元" in result.spoken


def test_the_english_encoder_loads_from_its_package_and_hears_a_paraphrase() -> None:
    from vtm.knowledge.english import EnglishEncoder

    vectors = EnglishEncoder.load().embed(["my card was stolen", "someone nicked my bank card",
                                           "what time does the branch open"])
    assert tuple(vectors.shape) == (3, 384)
    assert vectors.norm(dim=-1).tolist() == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2]) + 0.2


def test_kb_ask_json_has_exactly_the_contract_fields(cli_env: dict[str, str]) -> None:
    from vtm.cli import app

    runner = CliRunner()
    answered = runner.invoke(app, ["kb", "ask", "临时挂失能管几天", "--lang", "zh", "--json"], env=cli_env)
    assert answered.exit_code == 0, answered.output
    payload = json.loads(answered.stdout)
    assert set(payload) == {"text", "lang", "entry", "score", "answer", "answered"}
    assert payload["entry"] == "card_loss.temporary_validity"
    assert payload["answered"] is True
    assert payload["lang"] == "zh"
    assert 0 < payload["score"] <= 1
    declined = runner.invoke(app, ["kb", "ask", "what's the weather like on Mars", "--json"], env=cli_env)
    assert declined.exit_code == 0, declined.output
    payload = json.loads(declined.stdout)
    assert payload == {**payload, "entry": None, "answered": False, "lang": "en",
                       "answer": "I'm not sure about that. Shall I get a colleague for you?"}


def test_kb_evaluate_on_the_dev_set_keeps_the_calibrated_figures(cli_env: dict[str, str]) -> None:
    from vtm.cli import app

    result = CliRunner().invoke(app, ["kb", "evaluate", str(DEV), "--json"], env=cli_env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    for lang in ("zh", "en"):
        scores = report["by_lang"][lang]
        assert scores["top1"] >= 0.80, (lang, scores)
        assert scores["wrong_answer_rate"] <= 0.05, (lang, scores)
    assert set(report["latency_ms"]) == {"p50", "p95"}


def test_blind2_does_not_fall_below_its_regression_floor(cli_env: dict[str, str]) -> None:
    # Floors a little below the figures measured once when blind2 was the held-out set (round 4,
    # docs/benchmarks.md: top-1 zh 0.560, en 0.369; wrong answers 8 of 164); it has been a development
    # set since round 5 (now zh 0.758, en 0.644). They catch a regression; they are not the targets.
    from vtm.cli import app

    result = CliRunner().invoke(app, ["kb", "evaluate", str(HELD_OUT), "--json", "--by", "kind"], env=cli_env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    figures = {name: {k: s[k] for k in ("top1", "ranking_top1", "wrong_answer_rate")}
               for name, s in [("all", report["overall"]), *report["by_lang"].items()]}
    assert report["overall"]["answerable"] == 597
    assert report["overall"]["unanswerable"] == 164
    assert figures["zh"]["top1"] >= 0.53, figures
    assert figures["en"]["top1"] >= 0.34, figures
    assert figures["all"]["ranking_top1"] >= 0.68, figures
    assert figures["all"]["wrong_answer_rate"] <= 0.07, figures
    assert set(report["by"]["kind"]) == {"direct", "colloquial", "indirect", "followup_like", "unanswerable"}


def test_kb_validate_and_index_check_pass_on_the_shipped_content(cli_env: dict[str, str]) -> None:
    from vtm.cli import app

    runner = CliRunner()
    validated = runner.invoke(app, ["kb", "validate"], env=cli_env)
    assert validated.exit_code == 0, validated.output
    assert "SAMPLE" in validated.output
    assert runner.invoke(app, ["kb", "index", "--check"], env=cli_env).exit_code == 0

"""``vtm nlu context``: answers played at the kiosk's open question and judged by what the kiosk did.

Through the real dialog, gate, sandbox bank and intent model. Each case's label is either what the
utterance means (judged correct) or deliberately not (judged wrong), so the judge is shown to fail
as well as to pass; every prefix of ``tests/data/nlu/contexts.yaml`` must still reach its question.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vtm.kiosk.context_eval import ContextError, ContextRow, evaluate_in_context, load_contexts
from vtm.kiosk.testing import ConversationRunner

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CONTEXTS = ROOT / "tests" / "data" / "nlu" / "contexts.yaml"

# (lang, asked, text, label, judged correct)
CASES = [
    ("zh", "amount", "五千块", "inform", True),
    ("zh", "amount", "你好聪明啊", "inform", False),          # a remark is not an amount
    ("zh", "arrival", "都行", "inform", True),                # the default of an open choice
    ("zh", "loss_kind", "先挂上", "inform", True),
    ("zh", "card_number", "卡不在身上", "inform", True),       # the other ways to name the card
    ("zh", "date_range", "上个月的", "inform", True),
    ("zh", "confirm", "对的没错", "affirm", True),
    ("zh", "confirm", "对的没错", "deny", False),
    ("zh", "confirm", "不对 金额是五千", "deny", True),         # a correction at the read-back
    ("zh", "confirm", "等一下", "affirm", False),              # a hesitation never confirms
    ("zh", "offer", "不用打了", "deny", True),
    ("zh", "offer", "不用打了", "affirm", False),
    ("zh", "anything_else", "没了 谢谢", "deny", True),
    ("zh", "anything_else", "还有", "affirm", True),
    ("en", "amount", "five grand", "inform", True),
    ("en", "payee_name", "to my landlord Peter Brown", "inform", True),
    ("en", "confirm", "yep go ahead", "affirm", True),
    ("en", "confirm", "hold on", "affirm", False),
    ("en", "offer", "nah I'm good", "deny", True),
    ("en", "anything_else", "no that's everything thanks", "deny", True),
    ("en", "delivery", "just put it on the screen", "inform", True),
]


def test_each_answer_is_judged_by_what_the_kiosk_did(runner: ConversationRunner) -> None:
    rows = [ContextRow(text, label, lang, asked, "context_answer", f"case-{i}")
            for i, (lang, asked, text, label, _) in enumerate(CASES)]
    judged = evaluate_in_context(runner, load_contexts(CONTEXTS), rows)
    wrong = [(j.row.lang, j.row.asked, j.row.text, j.row.intent, j.understood, j.turn)
             for j, case in zip(judged, CASES, strict=True) if j.correct != case[4]]
    assert wrong == []


def test_every_prefix_reaches_its_question(runner: ConversationRunner) -> None:
    spec = load_contexts(CONTEXTS)
    rows = [ContextRow("好的" if lang == "zh" else "okay", "repeat", lang, asked)
            for lang, contexts in spec.languages.items() for asked in contexts.contexts]
    assert len(rows) == 28
    assert len(evaluate_in_context(runner, spec, rows)) == 28  # raises ContextError naming a broken prefix


def test_a_prefix_that_misses_its_question_is_an_error(runner: ConversationRunner, tmp_path: Path) -> None:
    broken = CONTEXTS.read_text(encoding="utf-8").replace("asks: statement.ask_delivery", "asks: statement.ask_period")
    path = tmp_path / "contexts.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(ContextError, match="delivery"):
        evaluate_in_context(runner, load_contexts(path), [ContextRow("打印", "inform", "zh", "delivery")])


def test_the_command_reports_languages_kinds_and_questions(tmp_path: Path) -> None:
    from vtm.cli import app

    data = tmp_path / "set.csv"
    data.write_text("text,intent,lang,kind,asked,id\n"
                    "第一个,inform,zh,context_answer,delivery,a\n"
                    "查余额,check_balance,zh,plain,,b\n"
                    "what's the weather like,out_of_scope,en,chit_chat,,c\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["nlu", "context", str(data), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["n"] == 3
    assert report["answers_in_context"] == 1
    assert set(report["accuracy_by_lang"]) == {"zh", "en"}
    assert set(report["by_kind"]) == {"context_answer", "plain", "chit_chat"}
    assert set(report["in_context_by_question"]) == {"delivery"}
    assert report["intent_only_by_lang"]["zh"] is not None

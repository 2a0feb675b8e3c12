"""The evaluation arithmetic and the TF-IDF baseline (fast: no e5)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from vtm.nlu.evaluate import EvalRow, SlotCase, SlotSet, evaluate_intents, evaluate_slots, load_intent_rows
from vtm.nlu.types import DateRange, Entity, SlotName

ROOT = Path(__file__).resolve().parents[3]


class TablePredictor:
    """Answers from a fixed table: the evaluation is measured, not the predictor."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    def predict_intents(self, texts: Sequence[str], langs: Sequence[str]) -> list[str]:
        return [self.answers[t] for t in texts]


ROWS = [
    EvalRow("卡丢了", "report_card_lost", "zh"),
    EvalRow("查余额", "check_balance", "zh"),
    EvalRow("天气", "out_of_scope", "zh"),
    EvalRow("lost card", "report_card_lost", "en"),
    EvalRow("weather", "out_of_scope", "en"),
]


def test_intent_report_counts_accuracy_per_language_and_out_of_scope_recall() -> None:
    predictor = TablePredictor(
        {
            "卡丢了": "report_card_lost",
            "查余额": "report_card_lost",
            "天气": "out_of_scope",
            "lost card": "report_card_lost",
            "weather": "greeting",
        }
    )
    report = evaluate_intents(predictor, ROWS)
    assert report.accuracy == pytest.approx(3 / 5)
    assert report.accuracy_by_lang == {"en": pytest.approx(1 / 2), "zh": pytest.approx(2 / 3)}
    assert report.out_of_scope_recall == pytest.approx(1 / 2)
    assert report.per_intent["report_card_lost"].precision == pytest.approx(2 / 3)
    assert report.per_intent["report_card_lost"].recall == 1.0
    assert report.per_intent["check_balance"].recall == 0.0
    assert ("check_balance", "report_card_lost", 1) in report.confusions
    # macro-F1 averages over intents that occur in the gold labels only
    f1_lost = 2 * (2 / 3) * 1 / (2 / 3 + 1)
    assert report.macro_f1 == pytest.approx((f1_lost + 0.0 + 2 * 1 * 0.5 / 1.5) / 3)


def test_intent_rows_without_a_language_column_get_one_detected(tmp_path: Path) -> None:
    csv_file = tmp_path / "rows.csv"
    csv_file.write_text(
        "text,intent\n我的卡丢了,report_card_lost\nI lost my card,report_card_lost\n", encoding="utf-8"
    )
    assert [r.lang for r in load_intent_rows(csv_file)] == ["zh", "en"]


def test_intent_rows_need_text_and_intent_columns(tmp_path: Path) -> None:
    csv_file = tmp_path / "rows.csv"
    csv_file.write_text("utterance,label\nx,y\n", encoding="utf-8")
    with pytest.raises(ValueError, match="text,intent"):
        load_intent_rows(csv_file)


def _entity(name: SlotName, value: object, text: str) -> Entity:
    return Entity(name=name, value=value, start=0, end=len(text), text=text)


def test_slot_report_compares_values_and_counts_unexpected_slots_as_false_positives() -> None:
    slot_set = SlotSet(
        today=date(2026, 11, 23),
        cases=[
            SlotCase(text="给张三转两千", lang="zh", slots={"payee_name": "张三", "amount": "2000"}),
            SlotCase(
                text="上个月的流水",
                lang="zh",
                slots={"date_range": {"start": "2026-10-01", "end": "2026-10-31"}},
            ),
            SlotCase(text="工行", lang="zh", slots={"payee_bank": "中国工商银行"}),
        ],
    )
    found = {
        "给张三转两千": [
            _entity(SlotName.PAYEE_NAME, "张三", "张三"),
            _entity(SlotName.AMOUNT, Decimal("2000.00"), "两千"),
            _entity(SlotName.CARD_LAST4, "1234", "1234"),
            _entity(SlotName.PHONE, "13800138000", "x"),
        ],  # phone is out of scope: ignored
        "上个月的流水": [
            _entity(SlotName.DATE_RANGE, DateRange(start=date(2026, 10, 1), end=date(2026, 10, 30)), "上个月")
        ],
        "工行": [_entity(SlotName.PAYEE_BANK, "ICBC", "工行")],
    }
    report = evaluate_slots(lambda text, lang, today: found[text], slot_set)
    assert report.per_slot["amount"].f1 == 1.0  # 2000 == 2000.00 as Decimal
    assert report.per_slot["payee_name"].f1 == 1.0
    assert report.per_slot["card_last4"].precision == 0.0  # not expected: a false positive
    assert report.per_slot["date_range"].recall == 0.0  # the end day is wrong
    assert report.per_slot["payee_bank"].f1 == 1.0  # bank code and Chinese name agree
    assert "phone" not in report.per_slot


def test_invalid_entities_are_not_counted_as_found() -> None:
    slot_set = SlotSet(today=date(2026, 11, 23), cases=[SlotCase(text="卡号 6222", lang="zh", slots={})])
    bad = Entity(
        name=SlotName.CARD_NUMBER, value="6222", start=3, end=7, text="6222", valid=False, reason="checksum"
    )
    report = evaluate_slots(lambda text, lang, today: [bad], slot_set)
    assert report.per_slot == {}
    assert report.micro_f1 == 0.0


def test_tfidf_baseline_learns_the_training_data() -> None:
    from vtm.nlu.baseline import TfidfBaseline
    from vtm.nlu.data import load_training_data

    examples = load_training_data(ROOT / "dialogs" / "nlu")
    baseline = TfidfBaseline(examples)
    sample = examples[::25]
    predicted = baseline.predict_intents([e.text for e in sample], [e.lang for e in sample])
    agreement = sum(p == e.intent.value for p, e in zip(predicted, sample, strict=True)) / len(sample)
    assert agreement > 0.9


def test_a_kind_column_gives_accuracy_per_kind_and_language(tmp_path: Path) -> None:
    csv_file = tmp_path / "set.csv"
    csv_file.write_text(
        "text,intent,lang,kind\n"
        "怎么挂失,report_card_lost,zh,question\n"
        "how do I freeze my card,report_card_lost,en,question\n"
        "充值限额多少,out_of_scope,zh,neighbour\n"
        "what's the top-up limit,out_of_scope,en,neighbour\n",
        encoding="utf-8",
    )
    rows = load_intent_rows(csv_file)
    assert [r.kind for r in rows] == ["question", "question", "neighbour", "neighbour"]
    predictor = TablePredictor(
        {
            "怎么挂失": "report_card_lost",
            "how do I freeze my card": "out_of_scope",
            "充值限额多少": "help",
            "what's the top-up limit": "out_of_scope",
        }
    )
    report = evaluate_intents(predictor, rows)
    assert report.by_kind["question"].n == 2
    assert report.by_kind["question"].accuracy == pytest.approx(0.5)
    assert report.by_kind["question"].by_lang == {"zh": 1.0, "en": 0.0}
    assert report.by_kind["neighbour"].by_lang == {"zh": 0.0, "en": 1.0}
    assert report.out_of_scope_recall_by_lang == {"zh": 0.0, "en": 1.0}
    assert report.n_by_lang == {"zh": 2, "en": 2}


def test_without_a_kind_column_by_kind_is_empty() -> None:
    report = evaluate_intents(TablePredictor({r.text: r.intent for r in ROWS}), ROWS)
    assert report.by_kind == {}
    assert report.accuracy == 1.0

"""The NLU training data in dialogs/nlu/ and its loader (vtm.nlu.data)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vtm.nlu.data import (
    LANGUAGES,
    Example,
    Intent,
    SlotName,
    TrainingDataError,
    count_by_intent,
    fingerprint,
    load_training_data,
    parse_annotated,
)

ROOT = Path(__file__).resolve().parents[3] / "dialogs" / "nlu"
MIN_PER_INTENT = 60
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return load_training_data(ROOT)


# --- the shipped data -------------------------------------------------------------------------


def test_every_intent_has_at_least_60_examples_in_each_language(examples: list[Example]) -> None:
    counts = count_by_intent(examples)
    short = {f"{lang}/{intent.value}": n for (lang, intent), n in counts.items() if n < MIN_PER_INTENT}
    assert short == {}


def test_every_intent_is_present_in_both_languages(examples: list[Example]) -> None:
    present = {(e.lang, e.intent) for e in examples}
    assert present == {(lang, intent) for lang in LANGUAGES for intent in Intent}


def test_no_text_appears_twice_even_ignoring_case_spaces_and_punctuation(examples: list[Example]) -> None:
    def key(text: str) -> str:
        return re.sub(r"[\s\W_]+", "", text.casefold())

    keys = [key(e.text) for e in examples]
    assert len(keys) == len(set(keys))


def test_english_files_hold_no_chinese_and_chinese_files_hold_chinese(examples: list[Example]) -> None:
    english_with_han = [e.source for e in examples if e.lang == "en" and HAN.search(e.text)]
    chinese_without_han = [
        e.source
        for e in examples
        if e.lang == "zh" and not HAN.search(e.text) and re.search(r"[A-Za-z]", e.text)
    ]
    assert english_with_han == []
    assert chinese_without_han == []


def test_slot_offsets_point_at_the_annotated_values(examples: list[Example]) -> None:
    slots = [(e, s) for e in examples for s in e.slots]
    assert len(slots) > 300
    assert all(e.text[s.start : s.end] == s.value for e, s in slots)
    assert {s.name for _, s in slots} >= {
        SlotName.AMOUNT,
        SlotName.PAYEE_NAME,
        SlotName.CARD_NUMBER,
        SlotName.CARD_LAST4,
        SlotName.DATE_RANGE,
        SlotName.DELIVERY,
        SlotName.LOSS_KIND,
        SlotName.ARRIVAL,
        SlotName.LANGUAGE,
    }


def test_examples_from_the_issues_carry_the_agreed_labels(examples: list[Example]) -> None:
    # Lines quoted in the issues, where they are training lines. Several were removed from training
    # because an evaluation set holds them too (test_eval_overlap.py); those cannot be checked here,
    # but at least half of the list must still be, or this test checks nothing.
    label: dict[tuple[str, str], Intent] = {(e.lang, e.text): e.intent for e in examples}
    expected = {
        ("zh", "卡丢了"): Intent.REPORT_CARD_LOST,
        ("zh", "我的卡好像被偷了"): Intent.REPORT_CARD_LOST,
        ("zh", "帮我冻结一下卡"): Intent.REPORT_CARD_LOST,
        ("zh", "给我妈转两千"): Intent.TRANSFER_MONEY,
        ("zh", "打个流水"): Intent.REQUEST_STATEMENT,
        ("zh", "查查还剩多少钱"): Intent.CHECK_BALANCE,
        ("zh", "不对是五百"): Intent.INFORM,
        ("zh", "算了不办了"): Intent.CANCEL,
        ("zh", "找个人工"): Intent.ASK_HUMAN,
        ("zh", "转人工"): Intent.ASK_HUMAN,
        ("zh", "不用了"): Intent.DENY,
        ("zh", "再说一遍"): Intent.REPEAT,
        ("zh", "先帮我查一下余额"): Intent.CHECK_BALANCE,
        ("en", "no, make it 500"): Intent.INFORM,
        ("en", "my card was stolen last year but that's fine now, what's the weather"): Intent.OUT_OF_SCOPE,
        # issue 12: a question about a task is the task; neighbouring banking questions are out of
        # scope; colloquial choices and situations in context are answers
        ("zh", "怎么挂失"): Intent.REPORT_CARD_LOST,
        ("zh", "如何挂失"): Intent.REPORT_CARD_LOST,
        ("zh", "挂失流程"): Intent.REPORT_CARD_LOST,
        ("en", "how do I freeze my card"): Intent.REPORT_CARD_LOST,
        ("zh", "怎么转账"): Intent.TRANSFER_MONEY,
        ("en", "how do I send money to another bank"): Intent.TRANSFER_MONEY,
        ("zh", "充值限额是多少"): Intent.OUT_OF_SCOPE,
        ("zh", "虚拟卡怎么办"): Intent.OUT_OF_SCOPE,
        ("zh", "快捷支付怎么开"): Intent.OUT_OF_SCOPE,
        ("en", "how do I activate quick pay"): Intent.OUT_OF_SCOPE,
        ("en", "can I get a virtual card for online shopping"): Intent.OUT_OF_SCOPE,
        ("zh", "打点钱过去"): Intent.TRANSFER_MONEY,
        ("zh", "卡里还剩多少"): Intent.CHECK_BALANCE,
        ("en", "what's in the pot"): Intent.CHECK_BALANCE,
        ("zh", "随便吧"): Intent.AFFIRM,
        ("en", "whatever you think"): Intent.AFFIRM,
        ("zh", "卡不在我身上"): Intent.INFORM,
        ("en", "I can't remember the number"): Intent.INFORM,
        ("zh", "也是示例银行"): Intent.INFORM,
        ("en", "it's VTM Sandbox Bank"): Intent.INFORM,
        ("zh", "不用找人 我自己来"): Intent.DENY,
    }
    present = {k: label[k] for k in expected if k in label}
    assert present == {k: v for k, v in expected.items() if k in present}
    assert len(present) >= len(expected) // 2, sorted(set(expected) - set(present))


def test_a_tenth_of_the_chinese_lines_is_not_plain_simplified_asr_text(examples: list[Example]) -> None:
    # Variety guard: traditional characters or embedded English appear in a visible share of zh lines.
    traditional = set("們這個說們對臺為請問謝轉賬餘額裡錢幫掛失丟銀卡張臨時櫃員換講話沒聽見樣麼會")
    zh = [e.text for e in examples if e.lang == "zh"]
    marked = [t for t in zh if set(t) & traditional or re.search(r"[A-Za-z]{2,}", t)]
    assert len(marked) >= len(zh) // 10


# --- the loader's validation ------------------------------------------------------------------


def _write(root: Path, lang: str, intent: str, body: str) -> Path:
    folder = root / lang
    folder.mkdir(parents=True, exist_ok=True)
    (root / ("en" if lang == "zh" else "zh")).mkdir(parents=True, exist_ok=True)
    path = folder / f"{intent}.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def test_annotations_are_removed_and_slots_keep_their_offsets() -> None:
    text, slots = parse_annotated("给[张三](payee_name)转[两千](amount)")
    assert text == "给张三转两千"
    assert [(s.name, s.value, s.start, s.end) for s in slots] == [
        (SlotName.PAYEE_NAME, "张三", 1, 3),
        (SlotName.AMOUNT, "两千", 4, 6),
    ]


def test_loader_reads_a_valid_file_and_ignores_the_lexicon_folder(tmp_path: Path) -> None:
    _write(tmp_path, "zh", "affirm", "lang: zh\nintent: affirm\nexamples:\n  - 对\n  - 没错\n")
    (tmp_path / "lexicon").mkdir()
    (tmp_path / "lexicon" / "banks.txt").write_text("工商银行\n", encoding="utf-8")
    loaded = load_training_data(tmp_path)
    assert [(e.text, e.intent, e.lang) for e in loaded] == [
        ("对", Intent.AFFIRM, "zh"),
        ("没错", Intent.AFFIRM, "zh"),
    ]


def test_an_unknown_intent_file_is_rejected_with_its_name(tmp_path: Path) -> None:
    path = _write(tmp_path, "en", "buy_stocks", "lang: en\nintent: buy_stocks\nexamples:\n  - buy\n")
    with pytest.raises(TrainingDataError, match="unknown intent 'buy_stocks'") as err:
        load_training_data(tmp_path)
    assert err.value.file == path


def test_a_header_that_disagrees_with_the_path_is_rejected(tmp_path: Path) -> None:
    _write(tmp_path, "en", "deny", "lang: en\nintent: affirm\nexamples:\n  - nope\n")
    with pytest.raises(TrainingDataError, match=r"deny\.yaml: intent: says 'affirm'"):
        load_training_data(tmp_path)


def test_a_duplicate_across_intents_names_both_places(tmp_path: Path) -> None:
    _write(tmp_path, "zh", "cancel", "lang: zh\nintent: cancel\nexamples:\n  - 算了\n  - 不用了\n")
    _write(tmp_path, "zh", "deny", "lang: zh\nintent: deny\nexamples:\n  - 不\n  - 不用了。\n")
    with pytest.raises(TrainingDataError) as err:
        load_training_data(tmp_path)
    assert err.value.path == "examples[1]"
    assert "deny.yaml" in str(err.value.file)
    assert "cancel.yaml: examples[1]" in err.value.message


def test_a_non_string_example_is_reported_at_its_index(tmp_path: Path) -> None:
    # YAML reads a bare `no` as a boolean: the author must quote it.
    _write(tmp_path, "en", "deny", "lang: en\nintent: deny\nexamples:\n  - nope\n  - no\n")
    with pytest.raises(TrainingDataError) as err:
        load_training_data(tmp_path)
    assert err.value.path == "examples[1]"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("给[张三](payee)转钱", "unknown slot 'payee'"),
        ("给[张三转钱", "stray"),
        ("给[ 张三](payee_name)转钱", "leading or trailing spaces"),
        ("send money", "must contain Chinese characters"),
    ],
)
def test_malformed_chinese_lines_are_rejected_with_the_reason(
    tmp_path: Path, line: str, message: str
) -> None:
    _write(tmp_path, "zh", "transfer_money", f"lang: zh\nintent: transfer_money\nexamples:\n  - '{line}'\n")
    with pytest.raises(TrainingDataError, match=message) as err:
        load_training_data(tmp_path)
    assert err.value.path == "examples[0]"


def test_chinese_in_the_english_folder_is_rejected(tmp_path: Path) -> None:
    _write(tmp_path, "en", "affirm", "lang: en\nintent: affirm\nexamples:\n  - sure\n  - 对的\n")
    with pytest.raises(TrainingDataError, match="must not contain Chinese"):
        load_training_data(tmp_path)


def test_the_fingerprint_changes_when_a_line_changes(tmp_path: Path) -> None:
    _write(tmp_path, "zh", "affirm", "lang: zh\nintent: affirm\nexamples:\n  - 对\n")
    before = fingerprint(load_training_data(tmp_path))
    assert fingerprint(load_training_data(tmp_path)) == before
    _write(tmp_path, "zh", "affirm", "lang: zh\nintent: affirm\nexamples:\n  - 对的\n")
    assert fingerprint(load_training_data(tmp_path)) != before

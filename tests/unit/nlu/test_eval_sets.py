"""Validate the independent NLU evaluation sets in ``tests/data/nlu/``.

These files are hand-written content; a careless edit (a typo in an intent name, a card number
whose check digit was mistyped, a date range that ends before it starts) would silently skew the
benchmark. The checks here keep the files honest: structure, label vocabulary, the minimum counts
the understanding issue asks for, and the internal consistency of every annotated value.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest
import yaml

from vtm.banking.models import Arrival, LossKind

DATA = Path(__file__).resolve().parents[2] / "data" / "nlu"
INTENT_CSV = DATA / "intent_test.csv"
SLOTS_YAML = DATA / "slots_test.yaml"

INTENTS = frozenset(
    {
        "report_card_lost",
        "transfer_money",
        "request_statement",
        "check_balance",
        "revoke_transfer",
        "inform",
        "affirm",
        "deny",
        "cancel",
        "repeat",
        "help",
        "ask_human",
        "greeting",
        "goodbye",
        "switch_language",
        "out_of_scope",
    }
)
LANGS = ("zh", "en")
BANKS = frozenset(
    {"中国工商银行", "中国建设银行", "中国农业银行", "中国银行", "招商银行", "交通银行", "中国邮政储蓄银行"}
)
SLOT_NAMES = frozenset(
    {
        "amount",
        "card_number",
        "card_number_invalid",
        "account_number",
        "card_last4",
        "date_range",
        "payee_name",
        "payee_bank",
        "delivery",
        "loss_kind",
        "arrival",
    }
)
DELIVERIES = frozenset({"print", "screen", "email"})
TODAY = dt.date(2026, 11, 23)

# Spoken digits as they appear in the test texts (Chinese readings incl. 幺/洞, English words incl. "oh").
_ZH_DIGITS = str.maketrans("零〇洞幺一二三四五六七八九", "0001123456789")
_EN_DIGITS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}


def luhn_ok(digits: str) -> bool:
    """True when the digit string passes the Luhn (mod 10) check."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def spoken_digits(text: str) -> str:
    """All digits in ``text``, spoken or written, concatenated (for cross-checking annotations)."""
    words = [_EN_DIGITS.get(w, w) for w in text.lower().split()]
    return re.sub(r"\D", "", "".join(words).translate(_ZH_DIGITS))


def as_date(value: Any) -> dt.date:
    """YAML gives unquoted ISO dates as ``date``; accept quoted ISO strings as well."""
    if isinstance(value, dt.date):
        return value
    assert isinstance(value, str), value
    return dt.date.fromisoformat(value)


def load_intent_rows() -> list[dict[str, str]]:
    with INTENT_CSV.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["text", "intent", "lang"]
        return list(reader)


def load_slot_file() -> dict[str, Any]:
    with SLOTS_YAML.open(encoding="utf-8") as handle:
        loaded = yaml.safe_load(handle)
    assert isinstance(loaded, dict)
    return loaded


# ---------------------------------------------------------------------------------------------- intents


def test_intent_rows_use_only_known_intents_and_languages() -> None:
    rows = load_intent_rows()
    for line, row in enumerate(rows, start=2):
        assert row["intent"] in INTENTS, f"line {line}: unknown intent {row['intent']!r}"
        assert row["lang"] in LANGS, f"line {line}: unknown lang {row['lang']!r}"
        assert row["text"], f"line {line}: empty text"
        assert row["text"].strip() == row["text"], f"line {line}: padded text"


def test_intent_set_meets_the_size_the_issue_requires() -> None:
    rows = load_intent_rows()
    per_lang = Counter(row["lang"] for row in rows)
    per_pair = Counter((row["lang"], row["intent"]) for row in rows)
    assert len(rows) >= 400
    for lang in LANGS:
        assert per_lang[lang] >= 200, lang
        for intent in INTENTS:
            assert per_pair[(lang, intent)] >= 12, (lang, intent)
        assert per_pair[(lang, "out_of_scope")] >= 40, lang


def test_intent_texts_are_unique_so_no_utterance_is_counted_twice() -> None:
    counts = Counter(row["text"].casefold() for row in load_intent_rows())
    assert [text for text, n in counts.items() if n > 1] == []


def test_chinese_rows_contain_han_characters_and_english_rows_are_latin() -> None:
    for row in load_intent_rows():
        han = sum("\u4e00" <= ch <= "\u9fff" for ch in row["text"])
        if row["lang"] == "zh":
            # A bare spoken card number may come back from ASR as digits only.
            assert han > 0 or row["text"].replace(" ", "").isdigit(), row
        else:
            assert han == 0, row


# ---------------------------------------------------------------------------------------------- slots


def test_slot_file_is_anchored_to_the_documented_today() -> None:
    assert as_date(load_slot_file()["today"]) == TODAY


def test_slot_set_has_enough_cases_in_both_languages() -> None:
    cases = load_slot_file()["cases"]
    per_lang = Counter(case["lang"] for case in cases)
    assert len(cases) >= 150
    assert per_lang["zh"] >= 50
    assert per_lang["en"] >= 50
    assert set(per_lang) <= set(LANGS)


def test_every_slot_case_is_well_formed() -> None:
    for index, case in enumerate(load_slot_file()["cases"]):
        where = f"cases[{index}] {case.get('text')!r}"
        assert set(case) <= {"text", "lang", "slots", "asked"}, where
        assert isinstance(case["text"], str), where
        assert case["text"].strip(), where
        assert case["lang"] in LANGS, where
        assert isinstance(case["slots"], dict), where
        assert case["slots"], where
        assert set(case["slots"]) <= SLOT_NAMES, where
        if "asked" in case:
            assert case["asked"] in SLOT_NAMES, where


def _check_slot(name: str, value: Any, text: str, today: dt.date) -> None:
    if name == "amount":
        assert isinstance(value, str), "amount must be a quoted decimal string"
        assert re.fullmatch(r"\d+(\.\d{1,2})?", value), value
        try:
            assert Decimal(value) > 0
        except InvalidOperation:  # pragma: no cover - the regex above already rules this out
            pytest.fail(value)
    elif name == "card_number":
        assert isinstance(value, str), value
        assert value.isdigit(), value
        assert 16 <= len(value) <= 19, value
        assert value.startswith("62"), value
        assert luhn_ok(value), f"{value} claimed valid but fails Luhn"
        assert value in spoken_digits(text), f"{value} not spoken in the text"
    elif name == "card_number_invalid":
        assert value is True
        digits = spoken_digits(text)
        assert 16 <= len(digits) <= 19, digits
        assert not luhn_ok(digits), f"{digits} marked invalid but passes Luhn"
    elif name == "account_number":
        assert isinstance(value, str), value
        assert value.isdigit(), value
        assert 8 <= len(value) <= 30, value
        assert value in spoken_digits(text), f"{value} not spoken in the text"
    elif name == "card_last4":
        assert isinstance(value, str), value
        assert re.fullmatch(r"\d{4}", value), value
        assert value in spoken_digits(text), f"{value} not spoken in the text"
    elif name == "date_range":
        assert set(value) == {"start", "end"}, value
        start, end = as_date(value["start"]), as_date(value["end"])
        assert start <= end <= today, value
    elif name == "payee_name":
        assert isinstance(value, str), value
        assert value.strip(), value
        assert not any(ch.isdigit() for ch in value), value
    elif name == "payee_bank":
        assert value in BANKS, value
    elif name == "delivery":
        assert value in DELIVERIES, value
    elif name == "loss_kind":
        assert value in {kind.value for kind in LossKind}, value
    elif name == "arrival":
        assert value in {kind.value for kind in Arrival}, value
    else:  # pragma: no cover - guarded by test_every_slot_case_is_well_formed
        pytest.fail(f"unknown slot {name}")


def test_every_annotated_slot_value_is_normalised_and_consistent_with_its_text() -> None:
    loaded = load_slot_file()
    today = as_date(loaded["today"])
    for index, case in enumerate(loaded["cases"]):
        for name, value in case["slots"].items():
            try:
                _check_slot(name, value, case["text"], today)
            except AssertionError as exc:
                raise AssertionError(f"cases[{index}] {case['text']!r} slot {name}: {exc}") from exc


def test_valid_and_invalid_card_numbers_are_both_represented() -> None:
    slots = [case["slots"] for case in load_slot_file()["cases"]]
    assert sum("card_number" in s for s in slots) >= 8
    assert sum("card_number_invalid" in s for s in slots) >= 3


@pytest.mark.parametrize(
    ("digits", "expected"),
    [("6222021234567894", True), ("6222021234567895", False), ("79927398713", True)],
)
def test_luhn_helper_agrees_with_known_numbers(digits: str, expected: bool) -> None:
    assert luhn_ok(digits) is expected

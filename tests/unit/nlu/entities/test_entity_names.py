"""Payee names, relation words for saved payees, and payee banks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from vtm.nlu.types import Entity

Entities = Callable[[str, str], list[Entity]]
Values = Callable[[str, str], list[object]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("给张三转五百", "张三"),
        ("转给李四两千", "李四"),
        ("帮我给王小明转一千块", "王小明"),
        ("汇给欧阳娜娜三千", "欧阳娜娜"),
        ("收款人是赵六", "赵六"),
        ("转到陈静的账户", "陈静"),
        ("给張偉轉賬五百", "张伟"),
        ("嗯 那个 转给刘洋 两千块", "刘洋"),
        ("我想转 two thousand 给张三", "张三"),
        ("给黄晓明转账三千元吧", "黄晓明"),
        ("transfer 500 to John Smith", "John Smith"),
        ("send money to mary jones please", "Mary Jones"),
        ("pay Li Wei 300 yuan", "Li Wei"),
        ("transfer 500 to 张三", "张三"),
        ("the payee is Emily Chen", "Emily Chen"),
        ("给老张转五百", "老张"),
        ("send 500 to mary", "Mary"),
        ("转给李四工商银行", "李四"),
        ("他叫赵子龙", "赵子龙"),
        ("我要转五百给我的常用联系人小王", "小王"),
        ("我要转账 transfer 500给Tom", "Tom"),
        ("我闺女 李红梅", "李红梅"),
        ("my daughter, Li Hongmei", "Li Hongmei"),
        ("to my friend Liu Yang", "Liu Yang"),
    ],
)
def test_payee_name_after_a_cue(values: Values, text: str, expected: str) -> None:
    assert values(text, "payee_name") == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "transfer to my account",
        "给我妈转两千",
        "转给他",
        "给我看看",
        "转到工行",
        "I want to talk to someone",
        "send it to the same account",
        "给你们添麻烦了",
        "转到华夏银行",
        "给高一点的额度",
        "go back to start",
        "I want to close my account",
        "i'd like to do a bank transfer to Postal Savings Bank",
        "my grandson needs money for school",
        "是马上到账吗",
    ],
)
def test_no_payee_name_without_a_name(values: Values, text: str) -> None:
    assert values(text, "payee_name") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("给我妈转两千", "mother"),
        ("转给我爸爸五百", "father"),
        ("给我老婆转一千", "wife"),
        ("转给我女儿", "daughter"),
        ("send 200 to my mom", "mother"),
        ("transfer to my dad", "father"),
        ("pay my landlord", "landlord"),
    ],
)
def test_relation_word_becomes_payee_alias(values: Values, text: str, expected: str) -> None:
    assert values(text, "payee_alias") == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("转到工行", "ICBC"),
        ("中国工商银行", "ICBC"),
        ("工商銀行的卡", "ICBC"),
        ("对方是中国银行的", "BOC"),
        ("中行", "BOC"),
        ("建行卡", "CCB"),
        ("农行", "ABC"),
        ("招行", "CMB"),
        ("交行", "BOCOM"),
        ("邮储银行", "PSBC"),
        ("本行的账户", "OWN"),
        ("to an account at Bank of China", "BOC"),
        ("ICBC", "ICBC"),
        ("china merchants bank", "CMB"),
        ("it's with our bank", "OWN"),
    ],
)
def test_payee_bank_canonical_code(values: Values, text: str, expected: str) -> None:
    assert values(text, "payee_bank") == [expected]


def test_name_span_points_at_traditional_original(entities: Entities) -> None:
    (name,) = entities("給張偉轉賬", "payee_name")
    assert name.text == "張偉"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("陈志强 耳东陈 志气的志", "陈志强"),
        ("赵 走肖赵 赵建军", "赵建军"),
        ("收钱的是我们理发店的房东 姓马 马建国", "马建国"),
        ("王建国 我们装修的师傅", "王建国"),
        ("刘 文刀刘 刘洋 我们装修的师傅", "刘洋"),
        ("zhang wei my colleague", "Zhang Wei"),
        ("it's for my helper Rosalinda Cruz", "Rosalinda Cruz"),
        ("her name is liu fang L I U fang", "Liu Fang"),
        ("Oluwaseun Adeyemi O L U W A S E U N", "Oluwaseun Adeyemi"),
        # no name in it
        ("我要转账", None), ("不知道 我问问", None), ("工商银行 我的卡", None),
        ("I want to send money to my landlord", None), ("I don't know his name", None), ("yes please", None),
    ],
)
def test_a_name_said_with_a_remark_around_it_answers_who_to_pay(text: str, expected: str | None) -> None:
    from vtm.nlu.entities import payee_name_in_answer

    lang = "en" if text.isascii() else "zh"
    assert payee_name_in_answer(text, lang) == expected


def test_the_warm_up_sentences_load_the_pinyin_table_the_first_english_name_needs() -> None:
    """The kiosk parses ``WARM_UP`` before the first customer: it must reach every lexicon that loads
    on first use, or the first English turn naming a payee waits about 0.5 s for pypinyin."""
    from vtm.nlu.entities import extract_entities
    from vtm.nlu.entities.names import _pinyin_surnames
    from vtm.nlu.types import WARM_UP, SlotName

    today = date(2024, 5, 15)

    _pinyin_surnames.cache_clear()
    names = {
        lang: [e.value for e in extract_entities(text, lang, today) if e.name == SlotName.PAYEE_NAME]
        for text, lang in WARM_UP
    }
    assert names == {"zh": ["刘洋"], "en": ["Liu Yang"]}
    assert _pinyin_surnames.cache_info().currsize == 1

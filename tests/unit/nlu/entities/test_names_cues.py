"""Payee names beyond the basic 给/to cue: bare answers, more cues, corrections, self-introductions.

Cases are hand-written for the extractor (not taken from the evaluation set).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

Values = Callable[[str, str], list[object]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("转账王小明", "王小明"),
        ("转账王小明两千", "王小明"),
        ("往王芳的卡里转两千", "王芳"),
        ("向张三转账一千", "张三"),
        ("打到王五的卡上", "王五"),
        ("存到李四卡里", "李四"),
        ("李红的账户", "李红"),
        ("王小明", "王小明"),
        ("王小明吧", "王小明"),
        ("就是欧阳修", "欧阳修"),
        ("对 是张三", "张三"),
        ("是王晓红", "王晓红"),
        ("不是张三是李四", "李四"),
        ("不是张三 是张珊 珊瑚的珊", "张珊"),
        ("李四 两千", "李四"),
        ("还是给张三吧", "张三"),
        ("给张三先生转五百", "张三"),
        ("转给刘洋同学", "刘洋"),
        ("给张三弄过去", "张三"),
        ("给李四两千", "李四"),
        ("转给上官婉儿", "上官婉儿"),
        ("給陳大文轉賬吧", "陈大文"),
        ("我是张三 给李四转五百", "李四"),
    ],
)
def test_chinese_payee_name(values: Values, text: str, expected: str) -> None:
    assert values(text, "payee_name") == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Zhang San", "Zhang San"),
        ("zhang san", "Zhang San"),
        ("it's Li Si", "Li Si"),
        ("it's wang fang", "Wang Fang"),
        ("no, not Zhang San, Li Si", "Li Si"),
        ("not to Zhang San but to Li Si", "Li Si"),
        ("send it to john's account", "John"),
        ("to the account of Li Wei", "Li Wei"),
        ("account holder is li wei", "Li Wei"),
        ("the recipient is chen jing", "Chen Jing"),
        ("send Sarah 1000", "Sarah"),
        ("give Tom 100", "Tom"),
        ("I owe Lily fifty, send it to her", "Lily"),
        ("pay 500 to chen wei", "Chen Wei"),
        ("send 500 to mary johnson", "Mary Johnson"),
        ("it's for Mr. Zhao", "Mr. Zhao"),
    ],
)
def test_english_payee_name(values: Values, text: str, expected: str) -> None:
    assert values(text, "payee_name") == [expected]


@pytest.mark.parametrize(
    "text",
    [
        # relations and oneself are saved payees or the customer, not names
        "给我老公转",
        "给自己转",
        "转给自己的账户",
        "给老师转",
        # self-introductions
        "我叫张三",
        "我是李四",
        "my name is Peter Parker",
        "I'm Peter",
        # ordinary words that start with a surname character
        "查余额",
        "谢谢",
        "查询",
        "明白了",
        "关闭",
        "高铁票",
        "转账成功了吗",
        "转账记录",
        "转账金额",
        "是工行的",
        "是实时的吗",
        "是我自己的卡",
        "叫人工",
        "钱包丢了",
        "周一到账吗",
        # English phrases that look like names
        "Thank You",
        "Good Morning",
        "I'm done",
        "la la la",
        "transfer to Monday",
        "talk to li wei about it",
        "statement for March",
        "I just sent money to a so-called safe account, please stop it",
    ],
)
def test_no_payee_name(values: Values, text: str) -> None:
    assert values(text, "payee_name") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [("给我老公转", "husband"), ("it's for my wife", "wife"), ("我老公", "husband")],
)
def test_relation_is_an_alias_not_a_name(values: Values, text: str, expected: str) -> None:
    assert values(text, "payee_alias") == [expected]
    assert values(text, "payee_name") == []

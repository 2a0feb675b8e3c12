"""Normalisation: script, width, case, fillers, spoken numbers; and the map back to the original."""

from __future__ import annotations

import pytest

from vtm.nlu.normalize import detect_lang, normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # traditional -> simplified, full-width -> half-width, case
        ("轉賬兩千", "转账2000"),
        ("我想查一下餘額", "我想查一下余额"),
        ("ＡＢＣ １２３４", "abc 1234"),
        ("Transfer TO John", "transfer to john"),
        # fillers
        ("嗯 那个 我想转五百块钱给张三", "我想转500块钱给张三"),
        ("呃呃 就是 卡丢了", "卡丢了"),
        ("额 我想查额度", "我想查额度"),
        ("额度是多少", "额度是多少"),
        ("嗯", "嗯"),
        ("嗯嗯 对", "对"),
        ("um I want to uh send money", "i want to send money"),
        ("i would like to transfer", "i would like to transfer"),
        # Chinese cardinals
        ("五百", "500"),
        ("两千三", "2300"),
        ("一万五", "15000"),
        ("三点五万", "35000"),
        ("1.5万", "15000"),
        ("2万5", "25000"),
        ("一千零五", "1005"),
        ("三点五", "3.5"),
        ("五百元整", "500元整"),
        ("转五百，一百", "转500,100"),
        # digit strings
        ("六二二二 零二零二 一二三四 五六七八", "6222020212345678"),
        ("幺三八幺二三四五六七八", "13812345678"),
        ("尾号幺洞洞八", "尾号1008"),
        ("一 二 三 四", "1234"),
        ("二零二四年三月", "2024年3月"),
        ("138 1234 5678", "13812345678"),
        # small numbers only before a unit; numerals inside names and words stay
        ("最近三个月", "最近3个月"),
        ("两个月", "2个月"),
        ("给张三转账", "给张三转账"),
        ("查一下", "查一下"),
        ("十分感谢", "十分感谢"),
        ("一起", "一起"),
        ("两三千", "两三千"),
        ("转账给张三2000", "转账给张三2000"),
        ("转给张三两千", "转给张三2000"),
        ("给张三三千五", "给张三3500"),
        ("三块五", "3.5块"),
        ("send 2 thousand", "send 2000"),
        ("thousand", "thousand"),
        # English numbers
        ("two thousand five hundred", "2500"),
        ("one two three four", "1234"),
        ("double five", "55"),
        ("send 2k", "send 2000"),
        ("2,500 yuan", "2500 yuan"),
        ("one point five million", "1500000"),
        ("a thousand", "1000"),
        ("this one please", "this one please"),
        ("oh no", "oh no"),
        ("phone is one three eight oh oh one two three four five six", "phone is 13800123456"),
        ("last four one two three four", "last four 1234"),
        # mixed scripts and spacing
        ("我想转 two thousand 给张三", "我想转2000给张三"),
        ("给 张三 转 五百", "给张三转500"),
        ("  many   spaces  ", "many spaces"),
    ],
)
def test_normalised_text(text: str, expected: str) -> None:
    assert normalize(text).text == expected


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("我想转账", "zh"),
        ("I want to transfer money", "en"),
        ("我想转 two thousand 给张三", "zh"),
        ("send 500 to 张三", "en"),
        ("轉賬", "zh"),
        ("500", "zh"),
    ],
)
def test_detect_lang_by_script(text: str, lang: str) -> None:
    assert detect_lang(text) == lang


def test_every_normalised_character_maps_into_the_original() -> None:
    original = "嗯 我想轉 兩千塊 給張三 ok"
    n = normalize(original)
    assert len(n.starts) == len(n.ends) == len(n.text)
    assert all(0 <= s < e <= len(original) for s, e in zip(n.starts, n.ends, strict=True))
    start = n.text.index("2000")
    assert n.span(start, start + 4) == (original.index("兩千"), original.index("兩千") + 2)


def test_explicit_language_wins_over_detection() -> None:
    assert normalize("ok", lang="zh").lang == "zh"
    assert normalize("好的").lang == "zh"
    assert normalize("okay").lang == "en"

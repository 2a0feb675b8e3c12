"""Card, account, ID and phone numbers, and card tails. Check digits were computed by hand."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vtm.nlu.types import Entity, InvalidReason

Entities = Callable[[str, str], list[Entity]]
Values = Callable[[str, str], list[object]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("卡号6222020212345679", "6222020212345679"),
        ("六二二二 零二零二 一二三四 五六七九", "6222020212345679"),
        ("卡号是六二二二零二零二幺二三四五六七九", "6222020212345679"),
        ("卡號六二二二，零二零二，一二三四，五六七九", "6222020212345679"),
        ("6228480012345678903", "6228480012345678903"),  # 19 digits, valid
        ("卡号 6217 0012 3456 7890 122", "6217001234567890122"),
        ("621226123456789016", "621226123456789016"),  # 18 digits, valid Luhn
        ("my card number is 4111 1111 1111 1111", "4111111111111111"),
        (
            "card number six two two two zero two zero two one two three four five six seven nine",
            "6222020212345679",
        ),
        ("嗯卡号是 6222 0202 1234 5679 对", "6222020212345679"),
    ],
)
def test_card_number_is_read_and_luhn_valid(entities: Entities, text: str, expected: str) -> None:
    found = entities(text, "card_number")
    assert [e.value for e in found] == [expected]
    assert found[0].valid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("卡号是六二二二 零二零二 一二三四 五六七八", "6222020212345678"),
        ("62220202123456781", "62220202123456781"),  # 17 digits failing Luhn
        ("card number 6222 0202 1234 5678", "6222020212345678"),
        ("卡号62220202123456789", "62220202123456789"),
    ],
)
def test_card_number_failing_luhn_is_flagged(entities: Entities, text: str, expected: str) -> None:
    (card,) = entities(text, "card_number")
    assert card.value == expected
    assert card.valid is False
    assert card.reason is InvalidReason.CHECKSUM


def test_card_cue_with_too_few_digits_is_a_length_error(entities: Entities) -> None:
    (card,) = entities("卡号是622202021234", "card_number")
    assert card.reason is InvalidReason.LENGTH


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("账号1234567890", "1234567890"),
        ("account number 0012345678901", "0012345678901"),
        ("转到账户六二二二零二零二一二三四", "622202021234"),
        ("帐号是幺二三四五六七八九零", "1234567890"),
    ],
)
def test_account_number_keeps_leading_zeros(values: Values, text: str, expected: str) -> None:
    assert values(text, "account_number") == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("手机号幺三八幺二三四五六七八", "13812345678"),
        ("my phone is one three eight one two three four five six seven eight", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("电话13900001111", "13900001111"),
        ("手机 一五九 零零零零 一一一一", "15900001111"),
    ],
)
def test_mobile_phone_number(values: Values, text: str, expected: str) -> None:
    assert values(text, "phone") == [expected]


def test_phone_of_wrong_length_is_flagged(entities: Entities) -> None:
    (phone,) = entities("手机号1381234567", "phone")
    assert phone.valid is False
    assert phone.reason is InvalidReason.LENGTH


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("身份证号11010519491231002X", "11010519491231002X"),
        ("身份证号11010519491231002x", "11010519491231002X"),
        ("身份证 440301199003071230", "440301199003071230"),
        ("身份证号码是11010519491231002叉", "11010519491231002X"),
        ("身份证号幺幺零幺零五一九四九一二三幺零零二X", "11010519491231002X"),
        ("11010519491231002X", "11010519491231002X"),
        ("my ID number is 310115198511110017", "310115198511110017"),
    ],
)
def test_id_number_passes_gb11643(entities: Entities, text: str, expected: str) -> None:
    found = entities(text, "id_number")
    assert [e.value for e in found] == [expected]
    assert found[0].valid


def test_id_number_with_wrong_check_character_is_flagged(entities: Entities) -> None:
    (ident,) = entities("身份证号440301199003071231", "id_number")
    assert ident.reason is InvalidReason.CHECKSUM


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("尾号一二三四", "1234"),
        ("尾号是1234", "1234"),
        ("卡尾号5678的卡丢了", "5678"),
        ("后四位是九八七六", "9876"),
        ("尾号幺洞洞八", "1008"),
        ("ending in 4321", "4321"),
        ("card ending with five six seven eight", "5678"),
        ("last four digits are 1234", "1234"),
        ("last four one two three four", "1234"),
        ("the one that ends in 0012", "0012"),
        # said digit by digit, or the card named by its end alone
        ("last four are 0 0 7 3", "0073"),
        ("use the card that ends with 8 0 1 9", "8019"),
        ("8806那张", "8806"),
        ("用3821的卡", "3821"),
    ],
)
def test_card_last_four(values: Values, text: str, expected: str) -> None:
    assert values(text, "card_last4") == [expected]


def test_digit_string_span_covers_every_spoken_group(entities: Entities) -> None:
    text = "卡号 六二二二 零二零二 一二三四 五六七九 谢谢"
    (card,) = entities(text, "card_number")
    assert card.text == "六二二二 零二零二 一二三四 五六七九"


def test_amount_of_money_is_not_read_as_an_account(values: Values) -> None:
    assert values("转一万亿元", "account_number") == []
    assert values("转一万亿元", "card_number") == []


@pytest.mark.parametrize("text", ["转8806", "转账 8806 元", "6222 0808 1122 3344那张", "尾号12345"])
def test_four_digits_that_do_not_name_a_card_are_no_last_four(values: Values, text: str) -> None:
    assert values(text, "card_last4") == []

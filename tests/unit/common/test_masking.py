"""Masking: what personal data looks like once it leaves the engine, in Chinese and English text."""

from __future__ import annotations

import copy
import io
import logging
import pickle
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from vtm.common.masking import (
    PII,
    PIN_MASK,
    MaskingFilter,
    PiiKind,
    Secret,
    mask_card,
    mask_email,
    mask_id,
    mask_name,
    mask_phone,
    mask_slots,
    mask_text,
    mask_value,
)

CARD = "6222020200001234"
ID_NUMBER = "320402195003151234"  # structure only; masking does not need a valid checksum
PIN = "739164"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Card and account numbers, Chinese text glued to the digits
        ("我的卡号是6222020200001234丢了", "我的卡号是6222 **** **** 1234丢了"),
        ("卡号：6222020200001234。", "卡号：6222 **** **** 1234。"),
        ("my card 6222020200001234 is lost", "my card 6222 **** **** 1234 is lost"),
        ("19 digits 6222021234567890128 too", "19 digits 6222 **** **** 0128 too"),
        ("account 12345678901234 please", "account 1234 **** **** 1234 please"),
        # Numbers split as people say or write them
        ("卡号 6 2 2 2 0 2 0 2 0 0 0 0 1 2 3 4 谢谢", "卡号 6222 **** **** 1234 谢谢"),
        ("card 6222 0202 0000 1234 thanks", "card 6222 **** **** 1234 thanks"),
        ("card 6222-0202-0000-1234.", "card 6222 **** **** 1234."),
        ("卡号６２２２０２０２００００１２３４", "卡号6222 **** **** 1234"),
        ("卡号是六二二二零二零二零零零零一二三四", "卡号是6222 **** **** 1234"),
        ("卡号是六二二二 零二零二 零零零零 一二三四", "卡号是6222 **** **** 1234"),
        # Resident ID numbers, with and without X
        ("身份证号320402195003151234", "身份证号3204**********1234"),
        ("身份证32040219500315123X，谢谢", "身份证3204**********123X，谢谢"),
        ("ID 32040219500315123x ok", "ID 3204**********123X ok"),
        ("ID 320402 19500315 123X ok", "ID 3204**********123X ok"),
        ("身份证３２０４０２１９５００３１５１２３Ｘ", "身份证3204**********123X"),
        # Mobile phones
        ("手机13812345678", "手机138****5678"),
        ("call me on 138 1234 5678", "call me on 138****5678"),
        ("电话138-1234-5678。", "电话138****5678。"),
        ("+86 138 1234 5678", "+86 138****5678"),
        ("+86 138-1234-5678", "+86 138****5678"),
        ("手机号幺三八一二三四五六七八", "手机号138****5678"),
        ("１３８１２３４５６７８", "138****5678"),
        # Emails
        ("邮箱zhang.san@example.com谢谢", "邮箱z***@example.com谢谢"),
        ("send it to John.Smith+bank@mail.example.co.uk.", "send it to J***@mail.example.co.uk."),
        ("13812345678@163.com", "1***@163.com"),
        # Amounts, dates and short numbers are kept
        ("转账5000元", "转账5000元"),
        ("转500 6222020200001234", "转500 6222 **** **** 1234"),
        ("转账五百元给妈妈", "转账五百元给妈妈"),
        ("两千三百块", "两千三百块"),
        ("transfer 1,000,000.00 yuan", "transfer 1,000,000.00 yuan"),
        ("amount 50000.00", "amount 50000.00"),
        ("from 2026-01-01 to 2026-03-31", "from 2026-01-01 to 2026-03-31"),
        ("2026-01-01 2026-03-31", "2026-01-01 2026-03-31"),
        ("最近3个月的流水", "最近3个月的流水"),
        ("尾号1234的卡", "尾号1234的卡"),
        ("reference TR20261123000042", "reference TR20261123000042"),
        ("", ""),
    ],
)
def test_mask_text_masks_personal_numbers_and_keeps_the_rest(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    ("text", "names", "expected"),
    [
        ("收款人张三，卡号6222020200001234", ["张三"], "收款人张*，卡号6222 **** **** 1234"),
        ("转给欧阳娜娜五百元", ["欧阳娜娜"], "转给欧***五百元"),
        ("pay John Smith 500 yuan", ["John Smith"], "pay J*** S**** 500 yuan"),
        ("pay JOHN   SMITH now", ["John Smith"], "pay J***   S**** now"),
        ("is that Smith? yes, smith", ["John Smith"], "is that S****? yes, s****"),
        ("Johnson is not John", ["John Smith"], "Johnson is not J***"),
        ("李四给王五转账", ["李四", "王五"], "李*给王*转账"),
        ("nobody named here", [], "nobody named here"),
    ],
)
def test_mask_text_masks_known_names(text: str, names: list[str], expected: str) -> None:
    assert mask_text(text, names=names) == expected


def test_masking_twice_changes_nothing_more() -> None:
    once = mask_text("张三 6222020200001234 13812345678 a@b.cn 320402195003151234", names=["张三"])
    assert mask_text(once, names=["张三"]) == once


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("6222020200001234", "6222 **** **** 1234"),
        ("6222 0202 0000 1234", "6222 **** **** 1234"),
        ("6222021234567890128", "6222 **** **** 0128"),
        ("１２３４５６７８９０１２", "1234 **** **** 9012"),
        ("1234", "****"),
    ],
)
def test_mask_card_keeps_first_and_last_four_and_hides_the_length(value: str, expected: str) -> None:
    assert mask_card(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (ID_NUMBER, "3204**********1234"),
        ("32040219500315123x", "3204**********123X"),
        ("123", "****"),
    ],
)
def test_mask_id(value: str, expected: str) -> None:
    assert mask_id(value) == expected


def test_mask_phone_email_and_name() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138 1234 5678") == "86 138****5678"
    assert mask_email("zhang@example.com") == "z***@example.com"
    assert mask_email("not an email") == "***"
    assert mask_name("张三") == "张*"
    assert mask_name("李小明") == "李**"
    assert mask_name("阿依古丽·买买提") == "阿***·***"
    assert mask_name("John Smith") == "J*** S****"
    assert mask_name("Mary-Jane O'Neil") == "M***-J*** O'N***"


def test_mask_value_masks_slots_by_name_and_keeps_amounts() -> None:
    slots: dict[str, object] = {
        "card_number": CARD,
        "account_number": "12345678901234",
        "from_account": CARD,
        "to_account": "6217000011112222",
        "id_number": ID_NUMBER,
        "phone": "13812345678",
        "email": "zhang@example.com",
        "payee_name": "张三",
        "amount": Decimal("500.00"),
        "date": date(2026, 11, 23),
        "card_last4": "1234",
        "memo": "卡号6222020200001234",
        "pin": PIN,
        "delivery": None,
    }
    assert mask_slots(slots) == {
        "card_number": "6222 **** **** 1234",
        "account_number": "1234 **** **** 1234",
        "from_account": "6222 **** **** 1234",
        "to_account": "6217 **** **** 2222",
        "id_number": "3204**********1234",
        "phone": "138****5678",
        "email": "z***@example.com",
        "payee_name": "张*",
        "amount": Decimal("500.00"),
        "date": date(2026, 11, 23),
        "card_last4": "1234",
        "memo": "卡号6222 **** **** 1234",
        "pin": PIN_MASK,
        "delivery": None,
    }


@pytest.mark.parametrize("slot", ["pin", "new_pin", "PIN", "otp", "confirm_pin"])
@pytest.mark.parametrize("value", [PIN, "1234", None, 739164, Secret(PIN)])
def test_a_pin_slot_is_always_six_stars_whatever_its_value(slot: str, value: object) -> None:
    assert mask_value(slot, value) == PIN_MASK


def test_pii_prints_masked_and_reveals_only_on_request() -> None:
    card = PII(CARD, PiiKind.CARD)
    shown = f"{card} {card!s} {card!r} {[card]} {card:>25}"
    assert CARD not in shown
    assert "6222 **** **** 1234" in shown
    assert card.reveal() == CARD
    assert card == PII(CARD, PiiKind.CARD)
    assert card != PII(CARD, PiiKind.ACCOUNT)
    assert str(PII("张三", PiiKind.NAME)) == "张*"
    assert str(PII("phone 13812345678")) == "phone 138****5678"
    assert mask_value("note", card) == "6222 **** **** 1234"


class _Slots(BaseModel):
    card: PII
    pin: Secret


def test_pii_and_secret_serialise_masked_in_pydantic_models() -> None:
    model = _Slots(card=PII(CARD, PiiKind.CARD), pin=Secret(PIN))
    dumped = model.model_dump_json()
    assert PIN not in dumped
    assert CARD not in dumped
    assert '"pin":"******"' in dumped
    assert PIN not in repr(model)
    assert model.pin.reveal() == PIN
    assert model.model_copy(deep=True).pin.reveal() == PIN


def test_secret_never_shows_its_value() -> None:
    pin = Secret(PIN)
    shown = f"{pin} {pin!r} {[pin]} {pin:>10} {({'pin': pin})} " + str(ValueError("bad", pin))
    assert PIN not in shown
    assert pin == Secret(PIN)
    assert pin != Secret("000000")
    assert pin != PIN  # a secret is never equal to a plain string
    with pytest.raises(TypeError):
        pickle.dumps(pin)
    with pytest.raises(TypeError):
        hash(pin)
    assert copy.deepcopy(pin).reveal() == PIN


def _logger_with_filter(names: list[str]) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s %(card)s"))
    handler.addFilter(MaskingFilter(names=names))
    logger = logging.getLogger(f"test.masking.{id(stream)}")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_logging_filter_masks_message_args_extras_and_tracebacks() -> None:
    logger, stream = _logger_with_filter(["张三"])
    logger.info("customer %s card %s phone %s", "张三", CARD, "13812345678", extra={"card": CARD})
    try:
        raise ValueError(f"unknown id {ID_NUMBER}")
    except ValueError:
        logger.exception("lookup failed for %s", "张三", extra={"card": "-"})
    out = stream.getvalue()
    for raw in ("张三", CARD, "13812345678", ID_NUMBER):
        assert raw not in out
    assert "customer 张* card 6222 **** **** 1234 phone 138****5678 6222 **** **** 1234" in out
    assert "ValueError: unknown id 3204**********1234" in out


def test_logging_filter_takes_names_from_a_callable_at_log_time() -> None:
    known: list[str] = []
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter(names=lambda: known))
    logger = logging.getLogger("test.masking.callable")
    logger.propagate = False
    logger.addHandler(handler)
    logger.warning("payee Li Lei")
    known.append("Li Lei")
    logger.warning("payee Li Lei")
    assert stream.getvalue().splitlines() == ["payee Li Lei", "payee L* L**"]


def test_a_pin_entered_in_a_session_never_reaches_a_log_line() -> None:
    logger, stream = _logger_with_filter([])
    pin = Secret(PIN)
    logger.info("pin entered %s for %r", pin, {"pin": pin}, extra={"card": pin})
    logger.info("slots %s", mask_slots({"pin": PIN, "card_number": CARD}), extra={"card": "-"})
    assert PIN not in stream.getvalue()
    assert stream.getvalue().count(PIN_MASK) >= 3


@given(
    card=st.from_regex(r"62[0-9]{14,17}", fullmatch=True),
    before=st.text(alphabet="我的卡号是丢了请帮挂失 ，。", max_size=8),
    after=st.text(alphabet="我的卡号是丢了请帮挂失 ，。", max_size=8),
    spaced=st.booleans(),
)
def test_no_card_number_survives_masking_whatever_surrounds_it(
    card: str, before: str, after: str, spaced: bool
) -> None:
    said = " ".join(card) if spaced else card
    masked = mask_text(before + said + after)
    assert card not in masked.replace(" ", "")
    assert f"{card[:4]} **** **** {card[-4:]}" in masked or "**********" in masked  # card or ID-shaped

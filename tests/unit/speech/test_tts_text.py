from __future__ import annotations

from vtm.speech.tts_text import group_digits, speech_text, zh_pinyin


def test_card_number_is_read_digit_by_digit_in_groups_of_four_in_mandarin() -> None:
    spoken = speech_text("卡号6222021234567890", "zh")
    assert "liu4 er4 er4 er4, ling2 er4 yao1 er4, san1 si4 wu3 liu4, qi1 ba1 jiu3 ling2" in spoken


def test_card_number_is_read_digit_by_digit_in_english() -> None:
    assert speech_text("card 6222 0212 3456", "en") == "card six two two two, zero two one two, three four five six"


def test_masked_card_tail_is_read_as_digits_not_as_a_number() -> None:
    assert "qi1 ba1 jiu3 ling2" in speech_text("尾号****7890的卡", "zh")
    assert "qian1" not in speech_text("尾号****7890的卡", "zh")
    assert "seven eight nine zero" in speech_text("card ****7890", "en")


def test_short_amount_is_read_as_a_number() -> None:
    assert speech_text("转账500元", "zh") == "zhuan3 zhang4 wu3 bai3 yuan2"


def test_bank_polyphones_use_the_phrase_reading() -> None:
    assert zh_pinyin("银行") == "yin2 hang2"
    assert zh_pinyin("还款") == "huan2 kuan3"
    assert zh_pinyin("行长") == "hang2 zhang3"
    assert zh_pinyin("我还有钱") == "wo3 hai2 you3 qian2"


def test_chinese_punctuation_becomes_a_pause_and_neutral_tone_is_five() -> None:
    assert zh_pinyin("好的，谢谢。") == "hao3 de5, xie4 xie4."


def test_digit_groups_use_yao_for_one_in_mandarin() -> None:
    assert group_digits("1110", "zh") == "幺幺幺零"

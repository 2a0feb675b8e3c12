"""The kiosk screen's protocol and locale files on their own (fast: no models, no bank)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from vtm.kiosk.server.locale import LOCALES_DIR, ScreenLocaleError, load_screen_locale
from vtm.kiosk.server.protocol import ButtonPressed, DeviceUsed, Say, Start, parse_client_message
from vtm.kiosk.server.view import speak_ms


def test_client_messages_are_typed_by_their_type_field() -> None:
    assert parse_client_message('{"type": "say", "text": "我要转账"}') == Say(text="我要转账")
    assert parse_client_message('{"type": "button", "button": "confirm"}') == ButtonPressed(button="confirm")
    assert parse_client_message('{"type": "start"}') == Start(lang=None)


@pytest.mark.parametrize("raw", [
    '{"type": "button", "button": "yes"}',           # only confirm and cancel exist
    '{"type": "say", "text": ""}',                   # nothing said
    '{"type": "say", "text": "hi", "pin": "1234"}',  # unknown fields are refused, not ignored
    '{"type": "teleport"}',
    '{"type": "start", "lang": "fr"}',
])
def test_malformed_client_messages_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError):
        parse_client_message(raw)


def test_a_device_command_with_a_pin_never_shows_in_its_repr() -> None:
    message = DeviceUsed(command="pin 507798")
    assert "507798" not in repr(message)
    assert "507798" not in str(message)


def test_both_screen_languages_have_the_same_keys_and_choices() -> None:
    locale = load_screen_locale()
    assert set(locale.ui("zh")) == set(locale.ui("en"))
    for topic in ("menu", "loss_kind", "arrival", "delivery", "yes_no", "finish"):
        assert [c.value for c in locale.choices("zh", topic)] == [c.value for c in locale.choices("en", topic)]
    assert [c.value for c in locale.choices("en", "delivery", ("print", "screen"))] == ["print", "screen"]


def test_a_half_translated_locale_fails_at_start_up_naming_the_keys(tmp_path: Path) -> None:
    shutil.copytree(LOCALES_DIR, tmp_path, dirs_exist_ok=True)
    en = tmp_path / "en.yaml"
    en.write_text(en.read_text(encoding="utf-8").replace("  send: Send\n", ""), encoding="utf-8")
    with pytest.raises(ScreenLocaleError, match=r"only zh \['send'\]"):
        load_screen_locale(tmp_path)


def test_the_figure_speaks_longer_for_longer_texts_and_slower_in_elderly_mode() -> None:
    short, long = speak_ms("好的。", "zh", False), speak_ms("请您核对：为尾号9930的银行卡办理临时挂失。", "zh", False)
    assert 600 <= short < long
    assert speak_ms("Please check the amount.", "en", True) > speak_ms("Please check the amount.", "en", False)

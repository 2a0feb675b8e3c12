"""Closed-set slots: delivery, loss kind, arrival, language."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vtm.nlu.types import Entity

Entities = Callable[[str, str], list[Entity]]
Values = Callable[[str, str], list[object]]


@pytest.mark.parametrize(
    ("text", "slot", "expected"),
    [
        ("打印出来吧", "delivery", "print"),
        ("要纸质的", "delivery", "print"),
        ("在屏幕上看就行", "delivery", "screen"),
        ("发到我邮箱", "delivery", "email"),
        ("发邮件给我", "delivery", "email"),
        ("print it please", "delivery", "print"),
        ("on screen is fine", "delivery", "screen"),
        ("email it to me", "delivery", "email"),
        ("临时挂失", "loss_kind", "temporary"),
        ("先口头挂失一下", "loss_kind", "temporary"),
        ("正式挂失", "loss_kind", "formal"),
        ("办书面挂失", "loss_kind", "formal"),
        ("a temporary block", "loss_kind", "temporary"),
        ("report it formally", "loss_kind", "formal"),
        ("实时到账", "arrival", "realtime"),
        ("要马上到账的", "arrival", "realtime"),
        ("普通到账就行", "arrival", "delayed"),
        ("二十四小时到账", "arrival", "delayed"),
        ("次日到账", "arrival", "delayed"),
        ("real-time please", "arrival", "realtime"),
        ("the delayed one", "arrival", "delayed"),
        ("说中文", "language", "zh"),
        ("讲普通话", "language", "zh"),
        ("can you speak Chinese", "language", "zh"),
        ("English please", "language", "en"),
        ("我要说英语", "language", "en"),
        ("換成英文", "language", "en"),
        ("我听不懂英文 说中文", "language", "zh"),
        ("I don't speak Chinese, English please", "language", "en"),
        ("my English isn't good, can you use Chinese", "language", "zh"),
        ("this is all Chinese to me, English please", "language", "en"),
        ("你说的啥 我听不懂 说普通话", "language", "zh"),
    ],
)
def test_closed_set_value(values: Values, text: str, slot: str, expected: str) -> None:
    assert values(text, slot) == [expected]


def test_mandarin_is_a_language_not_a_standard_arrival(values: Values) -> None:
    assert values("说普通话", "arrival") == []
    assert values("普通到账", "arrival") == ["delayed"]


def test_weak_phrase_has_lower_confidence(entities: Entities) -> None:
    (weak,) = entities("我看一下", "delivery")
    (strong,) = entities("屏幕上看", "delivery")
    assert weak.value == strong.value == "screen"
    assert weak.confidence < strong.confidence

"""Injected time for the device simulators, so tests and scripts (``today:``) control it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

__all__ = ["Clock", "Today", "kiosk_today", "utc_now"]

Clock = Callable[[], datetime]
Today = Callable[[], date]

_KIOSK_ZONE = ZoneInfo("Asia/Shanghai")


def utc_now() -> datetime:
    return datetime.now(UTC)


def kiosk_today() -> date:
    """Today's date where the kiosk stands (ID validity is a calendar date in China)."""
    return datetime.now(_KIOSK_ZONE).date()

"""The login limiter on its own, with a hand-moved clock: windows, keys, and what a success forgets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vtm.review.login_limits import LimitedBy, LoginLimits, LoginRateLimiter, address_key, username_key

LIMITS = LoginLimits(per_username=3, per_address=5, window=timedelta(minutes=15))


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limiter(clock: Clock) -> LoginRateLimiter:
    return LoginRateLimiter(LIMITS, clock=clock)


def test_the_username_limit_lifts_when_its_oldest_failure_leaves_the_window(
    limiter: LoginRateLimiter, clock: Clock
) -> None:
    for minute in range(3):
        assert limiter.check("rita", f"10.0.0.{minute}") is None
        limiter.failed("rita", f"10.0.0.{minute}")
        clock.now += timedelta(minutes=1)
    throttle = limiter.check("rita", "10.0.0.9")
    assert throttle is not None
    assert throttle.limited_by is LimitedBy.USERNAME
    assert throttle.retry_after_s == 12 * 60  # the first failure is 3 minutes old
    clock.now += timedelta(seconds=throttle.retry_after_s)
    assert limiter.check("rita", "10.0.0.9") is None


def test_the_address_limit_counts_every_username(limiter: LoginRateLimiter) -> None:
    for i in range(5):
        limiter.failed(f"user{i}", "192.0.2.1")
    throttle = limiter.check("someone-new", "192.0.2.1")
    assert throttle is not None
    assert throttle.limited_by is LimitedBy.ADDRESS
    assert limiter.check("someone-new", "192.0.2.2") is None


def test_a_success_forgets_only_that_username_from_that_address(limiter: LoginRateLimiter) -> None:
    limiter.failed("rita", "192.0.2.66")
    limiter.failed("rita", "192.0.2.66")
    limiter.failed("rita", "192.0.2.10")
    limiter.succeeded("rita", "192.0.2.10")
    limiter.failed("rita", "192.0.2.66")
    assert limiter.check("rita", "192.0.2.10") is not None  # 3 from .66 still count against rita


def test_usernames_are_counted_as_the_user_store_normalises_them(limiter: LoginRateLimiter) -> None:
    for name in ("Rita", " rita", "RITA "):
        limiter.failed(name, "192.0.2.1")
    assert limiter.check("rita", "192.0.2.2") is not None
    assert username_key("x" * 10_000) == "x" * 64


def test_one_ipv6_host_s_network_is_one_address() -> None:
    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_key("testclient") == "testclient"


def test_expired_keys_do_not_pile_up(limiter: LoginRateLimiter, clock: Clock) -> None:
    for i in range(1000):
        limiter.failed(f"one-off-{i}", f"198.51.100.{i % 250}")
    clock.now += timedelta(minutes=16)
    assert limiter.check("anyone", "192.0.2.1") is None
    assert limiter.tracked_keys() == 0


@pytest.mark.parametrize(
    "limits",
    [
        {"per_username": 0},
        {"per_address": 0},
        {"window": timedelta(0)},
    ],
)
def test_limits_must_be_positive(limits: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="positive"):
        LoginLimits(**limits)  # type: ignore[arg-type]

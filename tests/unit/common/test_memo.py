"""The memo keeps the most recently used values, computes each missing one, and is safe across threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from vtm.common.memo import Memo


def test_a_remembered_value_is_not_computed_again() -> None:
    memo: Memo[str, int] = Memo(4)
    calls: list[str] = []

    def compute(key: str) -> int:
        calls.append(key)
        return len(key)

    assert memo.get_or_compute("abc", lambda: compute("abc")) == 3
    assert memo.get_or_compute("abc", lambda: compute("abc")) == 3
    assert calls == ["abc"]


def test_the_least_recently_used_value_goes_first() -> None:
    memo: Memo[int, int] = Memo(2)
    memo.put(1, 10)
    memo.put(2, 20)
    assert memo.get(1) == 10  # 1 is now the most recent
    memo.put(3, 30)
    assert memo.get(2) is None
    assert (memo.get(1), memo.get(3), len(memo)) == (10, 30, 2)


def test_a_memo_needs_room_for_one_value() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Memo(0)


def test_threads_never_see_more_values_than_the_size() -> None:
    memo: Memo[int, int] = Memo(16)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda n: memo.get_or_compute(n % 40, lambda: n % 40 * 2), range(2000)))
    assert results == [n % 40 * 2 for n in range(2000)]
    assert len(memo) == 16

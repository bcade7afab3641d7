"""RegionMemo: values of a pure function kept for two generations of keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.memo import RegionMemo


class _Counting:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    def __call__(self, text: str, region: str | None) -> str | None:
        self.calls.append((text, region))
        return None if text == "bad" else f"{region}:{text}"


def test_computes_each_key_once() -> None:
    compute = _Counting()
    memo = RegionMemo(compute, 10)

    assert memo("1", "US") == "US:1"
    assert memo("1", "US") == "US:1"
    assert memo("1", "GB") == "GB:1"
    assert memo("1", None) == "None:1"

    assert compute.calls == [("1", "US"), ("1", "GB"), ("1", None)]


def test_none_results_are_remembered_too() -> None:
    compute = _Counting()
    memo = RegionMemo(compute, 10)

    assert memo("bad", "US") is None
    assert memo("bad", "US") is None
    assert len(compute.calls) == 1


def test_keeps_at_most_two_generations() -> None:
    memo = RegionMemo(_Counting(), 3)
    for number in range(20):
        memo(str(number), "US")

    assert len(memo) <= 6


def test_memo_keeps_reused_key() -> None:
    compute = _Counting()
    memo = RegionMemo(compute, 2)
    memo("often", "US")
    for number in range(10):
        memo(str(number), "US")
        memo("often", "US")

    assert compute.calls.count(("often", "US")) == 1


def test_memo_forgets_unused_key() -> None:
    compute = _Counting()
    memo = RegionMemo(compute, 2)
    memo("once", "US")
    for number in range(4):
        memo(str(number), "US")
    memo("once", "US")

    assert compute.calls.count(("once", "US")) == 2


def test_clear_forgets_everything() -> None:
    compute = _Counting()
    memo = RegionMemo(compute, 4)
    memo("1", "US")
    memo.clear()
    memo("1", "US")

    assert len(compute.calls) == 2
    assert len(memo) == 1


def test_generation_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="generation_size"):
        RegionMemo(_Counting(), 0)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["1", "2", "3", "4", "5", "bad"]),
            st.sampled_from(["US", "GB", None]),
        ),
        max_size=200,
    ),
    st.integers(min_value=1, max_value=5),
)
def test_always_returns_what_the_function_returns(
    calls: list[tuple[str, str | None]], generation_size: int
) -> None:
    compute = _Counting()
    memo = RegionMemo(compute, generation_size)
    for text, region in calls:
        assert memo(text, region) == compute(text, region)
        assert len(memo) <= 2 * generation_size

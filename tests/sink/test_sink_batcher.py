"""Batcher: batches bounded by order count and request body size."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sink_fakes import make_order

from connector.sink import Batch, Batcher, PreparedOrder
from connector.sink.batch import encode_request_body, request_body_size


def _order_of_size(index: int, size: int) -> PreparedOrder:
    body = b'"' + b"x" * (size - 2) + b'"'
    return PreparedOrder(key=str(index), order_id=str(index), body=body, fingerprint="")


def _feed(batcher: Batcher, orders: list[PreparedOrder]) -> list[Batch]:
    batches = [batch for order in orders if (batch := batcher.add(order))]
    last = batcher.flush()
    return [*batches, last] if last else batches


def test_batcher_closes_batch_at_count() -> None:
    batcher = Batcher(3, 1_000_000)
    batches = _feed(batcher, [make_order(i) for i in range(7)])

    assert [len(batch.orders) for batch in batches] == [3, 3, 1]


def test_batcher_numbers_batches_in_order() -> None:
    batches = _feed(Batcher(2, 1_000_000), [make_order(i) for i in range(5)])

    assert [batch.seq for batch in batches] == [1, 2, 3]


def test_batcher_first_seq_is_configurable() -> None:
    batches = _feed(Batcher(2, 1_000_000, first_seq=0), [make_order(0)])

    assert batches[0].seq == 0


def test_batcher_closes_batch_before_byte_limit() -> None:
    # Three 100-byte orders make a 304-byte body: 2 brackets and 2 commas.
    batcher = Batcher(1000, 303)
    orders = [_order_of_size(i, 100) for i in range(4)]

    assert batcher.add(orders[0]) is None
    assert batcher.add(orders[1]) is None
    full = batcher.add(orders[2])

    assert full is not None
    assert full.orders == orders[:2]
    assert full.body_bytes == 203


def test_batcher_fills_byte_limit_exactly() -> None:
    batcher = Batcher(1000, 304)
    orders = [_order_of_size(i, 100) for i in range(3)]

    assert batcher.add(orders[0]) is None
    assert batcher.add(orders[1]) is None
    full = batcher.add(orders[2])

    assert full is not None
    assert len(encode_request_body(full.orders)) == 304


def test_batcher_sends_oversized_order_alone() -> None:
    batcher = Batcher(1000, 500)
    small = _order_of_size(0, 100)
    huge = _order_of_size(1, 2000)
    after = _order_of_size(2, 100)

    assert batcher.add(small) is None
    first = batcher.add(huge)
    second = batcher.add(after)

    assert first is not None
    assert first.orders == [small]
    assert second is not None
    assert second.orders == [huge]
    assert batcher.flush() == Batch(seq=3, orders=[after])


def test_batcher_flush_of_empty_batcher_is_none() -> None:
    assert Batcher(10, 10_000).flush() is None


def test_batcher_keeps_order_objects() -> None:
    orders = [make_order(i) for i in range(3)]
    batches = _feed(Batcher(10, 1_000_000), orders)

    assert all(a is b for a, b in zip(batches[0].orders, orders, strict=True))


@pytest.mark.parametrize("max_orders", [0, 1001])
def test_batcher_rejects_count_outside_api_limit(max_orders: int) -> None:
    with pytest.raises(ValueError, match="between 1 and 1000"):
        Batcher(max_orders, 10_000)


def test_request_body_size_matches_encoding() -> None:
    orders = [make_order(i, padding=i) for i in range(5)]
    body = encode_request_body(orders)

    assert request_body_size(orders) == len(body)
    assert [o["order_id"] for o in json.loads(body)] == [f"order-{i}" for i in range(5)]


@given(
    sizes=st.lists(st.integers(min_value=2, max_value=400), max_size=60),
    max_orders=st.integers(min_value=1, max_value=8),
    max_bytes=st.integers(min_value=3, max_value=1200),
)
def test_batcher_bounds_hold_for_any_sizes(
    sizes: list[int], max_orders: int, max_bytes: int
) -> None:
    """Every batch keeps the count bound and the byte bound (or is one order)."""
    orders = [_order_of_size(i, size) for i, size in enumerate(sizes)]
    batches = _feed(Batcher(max_orders, max_bytes), orders)

    assert [o for batch in batches for o in batch.orders] == orders
    for batch in batches:
        assert 1 <= len(batch.orders) <= max_orders
        assert len(batch.orders) == 1 or batch.body_bytes <= max_bytes

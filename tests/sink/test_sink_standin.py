"""OrderSink end to end against the Northbeam stand-in on 127.0.0.1."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sink_fakes import FakeClock, make_batch, make_order, make_settings

from connector.config import PacingSettings
from connector.errors import FatalSinkError, RetryableSinkError
from connector.sink import Batch, Batcher, BatchOutcome, OrderSink
from connector.standin import Faults, StandIn


def _no_wait(_seconds: float) -> None:
    return None


@pytest.fixture
def api() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server


def _sink(server: StandIn, **overrides: Any) -> OrderSink:
    sleep = overrides.pop("sleep", _no_wait)
    clock = overrides.pop("clock", time.monotonic)
    return OrderSink(make_settings(server.url, **overrides), sleep=sleep, clock=clock)


def _send_all(sink: OrderSink, batches: list[Batch]) -> list[BatchOutcome]:
    with sink:
        outcomes = [o for batch in batches for o in sink.submit(batch)]
        outcomes += sink.drain()
    return outcomes


def _posts(server: StandIn) -> list[Any]:
    return [r for r in server.requests if r.method == "POST"]


def _batches(count: int, size: int) -> list[Batch]:
    return [make_batch(seq, size, start=seq * size) for seq in range(count)]


def test_orders_are_stored_as_sent(api: StandIn) -> None:
    batch = make_batch(1, 50)
    [outcome] = _send_all(_sink(api), [batch])

    stored = api.orders("v1")
    assert len(outcome.accepted) == 50
    assert set(stored) == {order.order_id for order in batch.orders}
    assert stored["order-7"] == json.loads(batch.orders[7].body)


def test_v2_orders_are_stored(api: StandIn) -> None:
    batch = make_batch(1, 5, version="v2")
    _send_all(_sink(api, api_version="v2"), [batch])

    assert len(api.orders("v2")) == 5
    assert api.orders("v1") == {}


def test_wrong_key_stops_with_401_message(api: StandIn) -> None:
    sink = _sink(api, api_key="wrong-key")

    with pytest.raises(FatalSinkError, match="refused the credentials") as caught:
        _send_all(sink, [make_batch(1, 3)])

    assert caught.value.status == 401
    assert api.orders("v1") == {}


def test_verify_credentials_returns_host(api: StandIn) -> None:
    with _sink(api) as sink:
        assert sink.verify_credentials() == "127.0.0.1"

    with _sink(api, client_id="other") as sink, pytest.raises(FatalSinkError):
        sink.verify_credentials()


def test_envelope_rejects_and_stores_the_rest() -> None:
    with StandIn(reject_order_ids={"order-3", "order-17"}) as server:
        [outcome] = _send_all(_sink(server), [make_batch(1, 20)])
        stored = server.orders("v1")
        counts = server.write_counts("v1")
        posts = _posts(server)

    rejected = {order.order_id: reject for order, reject in outcome.rejected}
    assert set(rejected) == {"order-3", "order-17"}
    assert rejected["order-3"].stage == "api"
    assert rejected["order-3"].field_path == "$"
    assert "server-side rule" in rejected["order-3"].reason
    assert len(outcome.accepted) == 18
    assert len(stored) == 18
    assert set(counts.values()) == {1}
    assert [p.status for p in posts] == [400, 200]


def test_generic_400_bisects_to_bad_order() -> None:
    with StandIn(generic_400=True, reject_order_ids={"order-613"}) as server:
        [outcome] = _send_all(_sink(server), [make_batch(1, 1000)])
        stored = server.orders("v1")
        posts = _posts(server)

    assert [order.order_id for order, _ in outcome.rejected] == ["order-613"]
    assert "HTTP 400" in outcome.rejected[0][1].reason
    assert len(stored) == 999
    assert len(posts) <= 2 * math.ceil(math.log2(1000)) + 3


def test_413_splits_batch_until_it_fits() -> None:
    with StandIn(max_orders_per_request=100) as server:
        [outcome] = _send_all(_sink(server), [make_batch(1, 1000)])
        stored = server.orders("v1")
        posts = _posts(server)

    assert len(outcome.accepted) == 1000
    assert len(stored) == 1000
    assert {p.status for p in posts} == {200, 413}
    assert max(p.orders for p in posts if p.status == 200) <= 100


def test_order_over_body_limit_is_rejected() -> None:
    big = make_order(99, padding=3000)
    batch = Batch(seq=1, orders=[make_order(1), big, make_order(2)])
    with StandIn(max_body_bytes=2000) as server:
        [outcome] = _send_all(_sink(server), [batch])
        stored = server.orders("v1")

    assert [order.order_id for order, _ in outcome.rejected] == ["order-99"]
    assert "HTTP 413" in outcome.rejected[0][1].reason
    assert set(stored) == {"order-1", "order-2"}


def test_429_waits_retry_after_and_adapts(clock: FakeClock) -> None:
    """The sink honours the server's Retry-After and shrinks its own budget.

    The sink's pacing budget is twice the server's, as when another sync
    uses the same key; the stand-in and the sink share a fake clock.
    """
    orders_per_batch = 20
    batches = _batches(12, orders_per_batch)
    batch_bytes = batches[0].body_bytes
    pacing = PacingSettings(budget_bytes=8 * batch_bytes, window_seconds=10)
    with StandIn(
        budget_bytes=4 * batch_bytes, window_seconds=10, clock=clock
    ) as server:
        sink = _sink(server, pacing=pacing, sleep=clock.sleep, clock=clock)
        outcomes = _send_all(sink, batches)
        stored = server.orders("v1")
        answers = [p.status for p in _posts(server)]

    assert sum(len(o.accepted) for o in outcomes) == 12 * orders_per_batch
    assert len(stored) == 12 * orders_per_batch
    assert 429 in answers
    assert sink.rate_limited == answers.count(429)
    assert sink.pacer.effective_budget < pacing.budget_bytes
    assert any(s >= 1.0 and s == int(s) for s in clock.sleeps)


def test_5xx_is_retried_then_stored() -> None:
    with StandIn(faults=Faults(script=[500, 503])) as server:
        [outcome] = _send_all(_sink(server), [make_batch(1, 10)])
        posts = _posts(server)
        stored = server.orders("v1")

    assert len(outcome.accepted) == 10
    assert len(stored) == 10
    assert [p.status for p in posts] == [500, 503, 200]


def test_retries_run_out_with_retryable_error() -> None:
    with StandIn(faults=Faults(script=[500] * 5)) as server:
        sink = _sink(server, max_attempts=3)
        with pytest.raises(RetryableSinkError, match="Batch 4") as caught:
            _send_all(sink, [make_batch(4, 10)])
        stored = server.orders("v1")

    assert caught.value.status == 500
    assert "Nothing was lost" in str(caught.value)
    assert stored == {}


def test_drop_after_store_is_resent_once() -> None:
    """A connection closed after storing is retried; the orders stay stored once."""
    with StandIn(faults=Faults(script=["drop"])) as server:
        [outcome] = _send_all(_sink(server), [make_batch(1, 10)])
        stored = server.orders("v1")
        counts = server.write_counts("v1")
        posts = _posts(server)

    assert len(outcome.accepted) == 10
    assert outcome.rejected == []
    assert len(stored) == 10
    assert set(counts.values()) == {2}
    assert [p.status for p in posts] == [None, 200]


def test_timeout_is_retried() -> None:
    faults = Faults(script=["slow"], slow_seconds=1.0)
    with StandIn(faults=faults) as server:
        sink = _sink(server, timeout_seconds=0.2)
        [outcome] = _send_all(sink, [make_batch(1, 5)])
        counts = server.write_counts("v1")

    assert len(outcome.accepted) == 5
    assert set(counts.values()) == {2}


def test_outcomes_arrive_out_of_order() -> None:
    """A slow first batch does not hold back the next batch's outcome."""
    faults = Faults(script=["slow"], slow_seconds=0.5)
    with StandIn(faults=faults) as server:
        sink = _sink(server, max_in_flight=2)
        with sink:
            first = sink.submit(make_batch(1, 10, start=0))
            _wait_for_requests(server, 1)
            second = sink.submit(make_batch(2, 10, start=10))
            third = sink.submit(make_batch(3, 10, start=20))
            rest = sink.drain()
        stored = server.orders("v1")

    assert first == []
    assert second == []
    assert [o.batch.seq for o in third] == [2]
    assert sorted(o.batch.seq for o in rest) == [1, 3]
    assert len(stored) == 30


def test_fault_mix_stores_every_order() -> None:
    """10% 500s, 5% drops after storing and 5% slow responses lose no order."""
    faults = Faults(
        seed=11, error_rate=0.10, drop_rate=0.05, slow_rate=0.05, slow_seconds=0.05
    )
    batcher = Batcher(50, 1_000_000)
    orders = [make_order(i) for i in range(3000)]
    batches = [b for order in orders if (b := batcher.add(order))]
    with StandIn(faults=faults) as server:
        sink = _sink(server, max_in_flight=4, max_attempts=10)
        outcomes = _send_all(sink, batches)
        stored = server.orders("v1")
        posts = _posts(server)

    faults_seen = {p.fault for p in posts}
    assert len(batches) == 60
    assert sum(len(o.accepted) for o in outcomes) == 3000
    assert sum(len(o.rejected) for o in outcomes) == 0
    assert len(stored) == 3000
    assert {"500", "drop", "slow"} <= faults_seen


def _wait_for_requests(server: StandIn, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(server.requests) < count:
        assert time.monotonic() < deadline, "the stand-in never got the request"
        time.sleep(0.01)

"""OrderSink against httpx.MockTransport: each response shape of the Orders API."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import threading
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sink_fakes import (
    FakeClock,
    ScriptedApi,
    envelope,
    make_batch,
    make_order,
    make_settings,
    ok,
)

from connector.config import PacingSettings
from connector.errors import ConfigError, FatalSinkError, RetryableSinkError
from connector.sink import Batch, BatchOutcome, OrderSink
from connector.sink.retry import MAX_RATE_LIMITED_RETRIES

Orders = list[dict[str, Any]]


def _sink(api: ScriptedApi, clock: FakeClock, **overrides: Any) -> OrderSink:
    return OrderSink(
        make_settings(**overrides),
        transport=api.transport,
        sleep=clock.sleep,
        clock=clock,
    )


def _send(sink: OrderSink, batch: Batch) -> BatchOutcome:
    with sink:
        outcomes = sink.submit(batch) + sink.drain()
    assert len(outcomes) == 1
    return outcomes[0]


def _ids(orders: Orders) -> set[str]:
    return {order["order_id"] for order in orders}


class TestAccepted:
    def test_accepts_every_order(self, clock: FakeClock) -> None:
        api = ScriptedApi(ok)
        batch = make_batch(1, 5)
        outcome = _send(_sink(api, clock), batch)

        assert outcome.accepted == batch.orders
        assert outcome.rejected == []
        assert len(api.requests) == 1

    def test_request_carries_headers_and_body(self, clock: FakeClock) -> None:
        api = ScriptedApi(ok)
        batch = make_batch(1, 3)
        _send(_sink(api, clock), batch)

        request = api.requests[0]
        assert request.method == "POST"
        assert request.url.path == "/v1/orders"
        assert request.headers["Authorization"] == "test-key"
        assert request.headers["Data-Client-ID"] == "test-client"
        assert request.headers["Content-Type"] == "application/json"
        assert request.content == b"[" + b",".join(o.body for o in batch.orders) + b"]"

    def test_v2_posts_to_v2_path(self, clock: FakeClock) -> None:
        api = ScriptedApi(ok)
        _send(_sink(api, clock, api_version="v2"), make_batch(1, 1))

        assert api.requests[0].url.path == "/v2/orders"


class TestCredentials:
    def test_401_raises_fatal_error(self, clock: FakeClock) -> None:
        api = ScriptedApi(lambda _r, _o: httpx.Response(401))

        with pytest.raises(FatalSinkError) as caught:
            _send(_sink(api, clock), make_batch(1, 2))

        assert caught.value.status == 401
        assert str(caught.value) == (
            "The orders API refused the credentials (HTTP 401). Check the API "
            "key and the client id: either one being wrong gives this error."
        )
        assert len(api.requests) == 1

    def test_verify_returns_host(self, clock: FakeClock) -> None:
        api = ScriptedApi(lambda _r, _o: httpx.Response(200, json=[]))
        with _sink(api, clock) as sink:
            host = sink.verify_credentials()

        request = api.requests[0]
        today = dt.datetime.now(dt.UTC).date().isoformat()
        assert host == "127.0.0.1"
        assert request.method == "GET"
        assert request.url.path == "/v1/orders"
        assert request.url.params["start_date"] == today
        assert request.url.params["end_date"] == today

    def test_verify_401_raises_fatal_error(self, clock: FakeClock) -> None:
        api = ScriptedApi(lambda _r, _o: httpx.Response(401))

        with _sink(api, clock) as sink, pytest.raises(FatalSinkError, match="401"):
            sink.verify_credentials()

    def test_verify_unreachable_raises_retryable(self, clock: FakeClock) -> None:
        def refuse(request: httpx.Request, _orders: Orders) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        with (
            _sink(ScriptedApi(refuse), clock) as sink,
            pytest.raises(RetryableSinkError, match="Could not reach"),
        ):
            sink.verify_credentials()

    def test_unreachable_batch_names_host(self, clock: FakeClock) -> None:
        def fail_to_connect(request: httpx.Request, _orders: Orders) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        with pytest.raises(RetryableSinkError) as caught:
            _send(_sink(ScriptedApi(fail_to_connect), clock), make_batch(3, 2))

        message = str(caught.value)
        assert "to 127.0.0.1 failed" in message
        assert "northbeam.base_url" in message

    def test_other_4xx_is_fatal(self, clock: FakeClock) -> None:
        api = ScriptedApi(lambda _r, _o: httpx.Response(404, text="not found"))

        with pytest.raises(FatalSinkError, match="HTTP 404") as caught:
            _send(_sink(api, clock), make_batch(3, 2))

        assert caught.value.status == 404
        assert "Batch 3" in str(caught.value)


class TestValidationEnvelope:
    def test_rejects_named_orders_and_resends_rest(self, clock: FakeClock) -> None:
        bad = {"order-1", "order-3"}

        def validate(_request: httpx.Request, orders: Orders) -> httpx.Response:
            named = _ids(orders) & bad
            if not named:
                return httpx.Response(200)
            return envelope(
                [
                    {
                        "order_id": oid,
                        "message": "invalid currency",
                        "json_path": "$.currency",
                    }
                    for oid in sorted(named)
                ]
            )

        api = ScriptedApi(validate)
        batch = make_batch(1, 5)
        outcome = _send(_sink(api, clock), batch)

        assert {o.order_id for o in outcome.accepted} == {
            "order-0",
            "order-2",
            "order-4",
        }
        assert [o.order_id for o, _ in outcome.rejected] == ["order-1", "order-3"]
        assert len(api.posted) == 2
        assert _ids(api.posted[1]) == {"order-0", "order-2", "order-4"}

    def test_reject_carries_path_and_message(self, clock: FakeClock) -> None:
        def validate(_request: httpx.Request, orders: Orders) -> httpx.Response:
            if "order-0" not in _ids(orders):
                return httpx.Response(200)
            return envelope(
                [
                    {"order_id": "order-0", "message": "bad tax", "json_path": "$.tax"},
                    {"order_id": "order-0", "message": "bad total", "json_path": None},
                ]
            )

        outcome = _send(_sink(ScriptedApi(validate), clock), make_batch(1, 2))
        order, reject = outcome.rejected[0]

        assert reject.order_key == order.key == "0"
        assert reject.stage == "api"
        assert reject.order_id == "order-0"
        assert reject.field_path == "$.tax"
        assert reject.reason == "bad tax; bad total"

    @pytest.mark.parametrize(
        ("path", "expected"),
        [
            ("$[1].currency", "$.currency"),
            ("$[1]", "$"),
            ("$[1].products[0].price", "$.products[0].price"),
            ("$[12].tax", "$[12].tax"),
            ("$[0].tax", "$[0].tax"),
        ],
    )
    def test_reject_path_points_into_order(
        self, clock: FakeClock, path: str, expected: str
    ) -> None:
        """A path into the request body becomes a path into the order."""

        def validate(_request: httpx.Request, orders: Orders) -> httpx.Response:
            if "order-1" not in _ids(orders):
                return httpx.Response(200)
            return envelope(
                [{"order_id": "order-1", "message": "x", "json_path": path}]
            )

        outcome = _send(_sink(ScriptedApi(validate), clock), make_batch(1, 3))

        assert outcome.rejected[0][1].field_path == expected

    def test_envelope_naming_unknown_order_bisects(self, clock: FakeClock) -> None:
        def validate(_request: httpx.Request, orders: Orders) -> httpx.Response:
            if "order-2" in _ids(orders) and len(orders) > 1:
                return envelope([{"order_id": "elsewhere", "message": "?"}])
            return httpx.Response(200)

        outcome = _send(_sink(ScriptedApi(validate), clock), make_batch(1, 4))

        assert len(outcome.accepted) == 4


class TestGeneric400:
    def test_bisect_isolates_one_bad_order(self, clock: FakeClock) -> None:
        """One malformed order in 1,000 costs about two requests per halving."""

        def parse(_request: httpx.Request, orders: Orders) -> httpx.Response:
            if "order-613" in _ids(orders):
                return httpx.Response(400, text="Bad Request")
            return httpx.Response(200)

        api = ScriptedApi(parse)
        outcome = _send(_sink(api, clock), make_batch(1, 1000))

        assert [o.order_id for o, _ in outcome.rejected] == ["order-613"]
        assert len(outcome.accepted) == 999
        assert len(api.requests) <= 2 * math.ceil(math.log2(1000)) + 3

    def test_single_order_reject_quotes_short_server_text(
        self, clock: FakeClock
    ) -> None:
        text = "unexpected token near jane@example.com " + "x" * 5000
        api = ScriptedApi(lambda _r, _o: httpx.Response(400, text=text))
        outcome = _send(_sink(api, clock), make_batch(1, 1))
        reason = outcome.rejected[0][1].reason

        assert "HTTP 400" in reason
        assert "server message" in reason
        assert "jane@example.com" not in reason
        assert len(reason) < 400

    def test_every_bad_order_is_isolated(self, clock: FakeClock) -> None:
        bad = {"order-0", "order-7", "order-8", "order-19"}

        def parse(_request: httpx.Request, orders: Orders) -> httpx.Response:
            return httpx.Response(400 if _ids(orders) & bad else 200)

        outcome = _send(_sink(ScriptedApi(parse), clock), make_batch(1, 20))

        assert {o.order_id for o, _ in outcome.rejected} == bad
        assert len(outcome.accepted) == 16


class TestTooLarge:
    def test_413_splits_until_requests_fit(self, clock: FakeClock) -> None:
        def limit(_request: httpx.Request, orders: Orders) -> httpx.Response:
            return httpx.Response(413 if len(orders) > 3 else 200)

        api = ScriptedApi(limit)
        outcome = _send(_sink(api, clock), make_batch(1, 10))

        assert len(outcome.accepted) == 10
        assert outcome.rejected == []
        # 10 -> 5 + 5 -> (2 + 3) + (2 + 3): one request, two halves, four quarters.
        assert sorted(len(orders) for orders in api.posted) == [2, 2, 3, 3, 5, 5, 10]

    def test_single_order_413_is_rejected(self, clock: FakeClock) -> None:
        api = ScriptedApi(lambda _r, _o: httpx.Response(413))
        outcome = _send(_sink(api, clock), make_batch(1, 1))

        reason = outcome.rejected[0][1].reason
        assert "HTTP 413" in reason
        assert "bytes" in reason


class TestPacedRequests:
    def test_requests_stay_under_tenth_of_budget(self, clock: FakeClock) -> None:
        """With pacing on, a large batch goes out as requests of <= budget / 10."""
        api = ScriptedApi(ok)
        batch = make_batch(1, 8)
        budget = PacingSettings(budget_bytes=10_000)
        assert batch.body_bytes > 1000
        outcome = _send(_sink(api, clock, pacing=budget), batch)

        assert len(outcome.accepted) == 8
        assert sum(len(orders) for orders in api.posted) == 8
        assert all(len(r.content) <= 1000 for r in api.requests)


class TestRateLimited:
    def test_retry_after_header_is_honoured(self, clock: FakeClock) -> None:
        answers = iter([httpx.Response(429, headers={"Retry-After": "7"})])
        api = ScriptedApi(lambda r, o: next(answers, None) or ok(r, o))
        sink = _sink(api, clock, pacing=PacingSettings(budget_bytes=50_000))
        outcome = _send(sink, make_batch(1, 2))

        assert len(outcome.accepted) == 2
        assert clock.sleeps == [7.0]
        assert sink.pacer.effective_budget == 45_000
        assert sink.rate_limited == 1

    def test_body_retry_after_is_used(self, clock: FakeClock) -> None:
        body = {"error": "rate_limit_error", "retry_after_seconds": 3}
        answers = iter([httpx.Response(429, json=body)])
        api = ScriptedApi(lambda r, o: next(answers, None) or ok(r, o))
        _send(_sink(api, clock), make_batch(1, 2))

        assert clock.sleeps == [3.0]

    def test_429_does_not_use_attempts(self, clock: FakeClock) -> None:
        answers = iter([httpx.Response(429, headers={"Retry-After": "1"})] * 5)
        api = ScriptedApi(lambda r, o: next(answers, None) or ok(r, o))
        outcome = _send(_sink(api, clock, max_attempts=1), make_batch(1, 2))

        assert len(outcome.accepted) == 2
        assert len(api.requests) == 6

    def test_endless_429_fails_retryable(self, clock: FakeClock) -> None:
        api = ScriptedApi(
            lambda _r, _o: httpx.Response(429, headers={"Retry-After": "1"})
        )

        with pytest.raises(RetryableSinkError, match="rate limited") as caught:
            _send(_sink(api, clock), make_batch(4, 2))

        assert caught.value.status == 429
        assert len(api.requests) == MAX_RATE_LIMITED_RETRIES + 1

    def test_long_retry_after_is_capped(self, clock: FakeClock) -> None:
        """A wait is capped at the larger of max_backoff_seconds and the window."""
        answers = iter([httpx.Response(429, headers={"Retry-After": "86400"})])
        api = ScriptedApi(lambda r, o: next(answers, None) or ok(r, o))
        pacing = PacingSettings(window_seconds=10)
        sink = _sink(api, clock, max_backoff_seconds=30, pacing=pacing)
        _send(sink, make_batch(1, 1))

        assert clock.sleeps == [30.0]


class TestTransientFailures:
    def test_5xx_is_retried_then_accepted(self, clock: FakeClock) -> None:
        answers = iter([httpx.Response(500), httpx.Response(503)])
        api = ScriptedApi(lambda r, o: next(answers, None) or ok(r, o))
        outcome = _send(_sink(api, clock, max_backoff_seconds=2.0), make_batch(1, 3))

        assert len(outcome.accepted) == 3
        assert len(api.requests) == 3
        assert len(clock.sleeps) == 2
        assert all(0 <= s <= 2.0 for s in clock.sleeps)

    @pytest.mark.parametrize(
        "error",
        [
            httpx.ConnectError,
            httpx.ReadTimeout,
            httpx.RemoteProtocolError,
            httpx.ReadError,
        ],
    )
    def test_network_errors_are_retried(
        self, clock: FakeClock, error: type[httpx.TransportError]
    ) -> None:
        failures = iter([1])

        def flaky(request: httpx.Request, orders: Orders) -> httpx.Response:
            if next(failures, None):
                raise error("boom", request=request)
            return ok(request, orders)

        api = ScriptedApi(flaky)
        outcome = _send(_sink(api, clock), make_batch(1, 2))

        assert len(outcome.accepted) == 2
        assert len(api.requests) == 2

    def test_exhaustion_raises_retryable_error(self, clock: FakeClock) -> None:
        api = ScriptedApi(lambda _r, _o: httpx.Response(503, text="upstream down"))

        with pytest.raises(RetryableSinkError) as caught:
            _send(_sink(api, clock, max_attempts=3), make_batch(9, 2))

        message = str(caught.value)
        assert caught.value.status == 503
        assert "Batch 9" in message
        assert "HTTP 503" in message
        assert "Nothing was lost" in message
        assert len(api.requests) == 3

    def test_backoff_never_exceeds_bound(self, clock: FakeClock) -> None:
        api = ScriptedApi(lambda _r, _o: httpx.Response(500))

        with pytest.raises(RetryableSinkError):
            _send(
                _sink(api, clock, max_attempts=12, max_backoff_seconds=1.5),
                make_batch(1, 1),
            )

        assert len(clock.sleeps) == 11
        assert max(clock.sleeps) <= 1.5


class TestConcurrency:
    def test_outcomes_come_back_out_of_order(self, clock: FakeClock) -> None:
        """A slow first batch does not hold back the outcome of a later one."""
        third_arrived = threading.Event()

        def answer(request: httpx.Request, orders: Orders) -> httpx.Response:
            ids = _ids(orders)
            if "order-0" in ids:
                assert third_arrived.wait(5)
            if "order-20" in ids:
                third_arrived.set()
            return ok(request, orders)

        sink = _sink(ScriptedApi(answer), clock, max_in_flight=2)
        with sink:
            first = sink.submit(make_batch(1, 10, start=0))
            second = sink.submit(make_batch(2, 10, start=10))
            third = sink.submit(make_batch(3, 10, start=20))
            rest = sink.drain()

        assert first == []
        assert second == []
        assert [o.batch.seq for o in third] == [2]
        assert sorted(o.batch.seq for o in rest) == [1, 3]

    def test_worker_error_reaches_caller(self, clock: FakeClock) -> None:
        def answer(request: httpx.Request, orders: Orders) -> httpx.Response:
            if "order-10" in _ids(orders):
                return httpx.Response(401)
            return ok(request, orders)

        sink = _sink(ScriptedApi(answer), clock, max_in_flight=2)
        with sink:
            sink.submit(make_batch(1, 10, start=0))
            sink.submit(make_batch(2, 10, start=10))
            with pytest.raises(FatalSinkError, match="401"):
                sink.drain()

    def test_submit_after_close_raises(self, clock: FakeClock) -> None:
        sink = _sink(ScriptedApi(ok), clock)
        sink.close()

        with pytest.raises(RuntimeError, match="closed"):
            sink.submit(make_batch(1, 1))


class TestBrokenSetup:
    def test_unsendable_request_is_fatal(self, clock: FakeClock) -> None:
        def fail(request: httpx.Request, _orders: Orders) -> httpx.Response:
            raise httpx.UnsupportedProtocol("no such scheme", request=request)

        with pytest.raises(FatalSinkError, match="could not be sent"):
            _send(_sink(ScriptedApi(fail), clock), make_batch(1, 1))

    def test_key_with_line_break_is_config_error(self, clock: FakeClock) -> None:
        with pytest.raises(ConfigError, match=r"northbeam\.api_key") as caught:
            _sink(ScriptedApi(ok), clock, api_key=SecretStr("k7x9\nq2w4"))

        assert "k7x9" not in str(caught.value)
        assert "q2w4" not in str(caught.value)


class TestSecrets:
    def test_repr_masks_credentials(self, clock: FakeClock) -> None:
        with _sink(ScriptedApi(ok), clock) as sink:
            text = repr(sink)

        assert "test-key" not in text
        assert "test-client" not in text
        assert "<redacted>" in text

    def test_logs_hold_no_secret_or_body(
        self, clock: FakeClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        answers = iter([httpx.Response(500), httpx.Response(429)])
        api = ScriptedApi(lambda r, o: next(answers, None) or ok(r, o))
        order = make_order(1)
        secret_value = json.loads(order.body)["customer_id"]

        with caplog.at_level(logging.DEBUG):
            _send(_sink(api, clock), Batch(seq=1, orders=[order]))

        assert caplog.records, "retries should have been logged"
        assert "test-key" not in caplog.text
        assert "test-client" not in caplog.text
        assert secret_value not in caplog.text


def test_http_loggers_quiet_unless_debug(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("httpx", "httpcore"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
    monkeypatch.setattr(logging.getLogger(), "level", logging.INFO)

    _sink(ScriptedApi(ok), clock).close()

    assert logging.getLogger("httpx").level == logging.WARNING
    assert logging.getLogger("httpcore").level == logging.WARNING

"""Test doubles of the sink tests: orders, settings and a clock tests drive."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from connector.config import NorthbeamSettings, PacingSettings
from connector.sink import Batch, PreparedOrder


class FakeClock:
    """A monotonic clock that moves only when ``sleep`` is called."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def make_order(index: int, *, padding: int = 0, version: str = "v1") -> PreparedOrder:
    """Build a valid order as compact JSON, about ``padding`` bytes longer."""
    document: dict[str, Any] = {
        "order_id": f"order-{index}",
        "customer_id": f"customer-{index % 97}",
        "time_of_purchase": "2026-11-30T10:00:00+00:00",
        "currency": "USD",
        "purchase_total": 12.5,
        "tax": 1.0,
        "products": [{"id": "sku-1", "name": "Jaffle", "quantity": 1, "price": 11.5}],
    }
    if version == "v2":
        document["shipping_cost"] = 0
    if padding:
        document["order_tags"] = ["x" * padding]
    body = json.dumps(document, separators=(",", ":")).encode()
    return PreparedOrder(
        key=str(index), order_id=f"order-{index}", body=body, fingerprint=f"fp-{index}"
    )


def make_batch(seq: int, count: int, *, start: int = 0, version: str = "v1") -> Batch:
    orders = [make_order(start + i, version=version) for i in range(count)]
    return Batch(seq=seq, orders=orders)


def make_settings(
    url: str = "http://127.0.0.1:9", **overrides: Any
) -> NorthbeamSettings:
    values: dict[str, Any] = {
        "base_url": url,
        "api_key": SecretStr("test-key"),
        "client_id": SecretStr("test-client"),
        "max_attempts": 4,
        "max_backoff_seconds": 2.0,
        "pacing": PacingSettings(enabled=False),
    }
    values.update(overrides)
    return NorthbeamSettings(**values)


Answerer = Callable[[httpx.Request, list[dict[str, Any]]], httpx.Response]


class ScriptedApi:
    """An ``httpx.MockTransport`` handler that records every request.

    ``answer`` gets the request and its decoded orders (empty for a GET) and
    returns the response, or raises an ``httpx`` error to imitate a
    network failure.
    """

    def __init__(self, answer: Answerer) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []
        self.posted: list[list[dict[str, Any]]] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        orders = json.loads(request.content) if request.method == "POST" else []
        with self._lock:
            self.requests.append(request)
            if request.method == "POST":
                self.posted.append(orders)
        return self.answer(request, orders)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def ok(_request: httpx.Request, _orders: list[dict[str, Any]]) -> httpx.Response:
    return httpx.Response(200, json={"status": "ok"})


def envelope(problems: list[dict[str, Any]]) -> httpx.Response:
    """A 400 validation envelope, ``response`` encoded as a JSON string."""
    return httpx.Response(
        400, json={"status": "error", "response": json.dumps(problems)}
    )

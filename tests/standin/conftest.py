"""Fixtures for the stand-in tests: sample orders, a fake clock, a client.

Helpers are offered as fixtures, not imports, so these tests need no
package layout under tests/.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from connector.standin import StandIn

AUTH = {"Authorization": "test-key", "Data-Client-ID": "test-client"}

_V1_ORDER: dict[str, Any] = {
    "order_id": "order-1",
    "customer_id": "customer-1",
    "time_of_purchase": "2024-03-08T01:23:45-08:00",
    "currency": "USD",
    "purchase_total": 25.5,
    "tax": 2,
    "hashed_customer_email": "a" * 64,
    "discount_codes": ["SPRING"],
    "order_tags": ["web"],
    "customer_shipping_address": {
        "address1": "1 Main St",
        "city": "Springfield",
        "zip": "11111",
        "country_code": "USA",
    },
    "products": [
        {"id": "sku-1", "name": "Mug", "quantity": 2, "price": 9.75},
        {"id": "sku-2", "name": "Tea", "quantity": 1, "price": 4},
    ],
    "refunds": [
        {
            "product_id": "sku-1",
            "quantity": 1,
            "refund_amount": 9.75,
            "refund_cost": 11,
            "refund_made_at": "2024-03-10T09:00:00Z",
        }
    ],
}

OrderFactory = Callable[..., dict[str, Any]]


def _make_order(
    version: str = "v1", order_id: str = "order-1", **fields: Any
) -> dict[str, Any]:
    """Return a valid order of ``version``; ``fields`` override or add keys."""
    order = copy.deepcopy(_V1_ORDER)
    order["order_id"] = order_id
    if version == "v2":
        order["shipping_cost"] = 4.99
    order.update(fields)
    return order


class FakeClock:
    """Monotonic clock the tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def make_order() -> OrderFactory:
    """Factory of valid orders: ``make_order("v2", "id-7", tax=3)``."""
    return _make_order


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server


@pytest.fixture
def decode_problems() -> Callable[[httpx.Response], list[dict[str, Any]]]:
    """Decode the problem list of a 400 validation envelope."""

    def decode(response: httpx.Response) -> list[dict[str, Any]]:
        body = response.json()
        assert body["status"] == "error"
        problems: list[dict[str, Any]] = json.loads(body["response"])
        return problems

    return decode


@pytest.fixture
def client(standin: StandIn) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=standin.url, headers=AUTH, timeout=10) as http:
        yield http

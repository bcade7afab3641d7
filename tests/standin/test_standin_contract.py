"""The stand-in's rules agree with Northbeam's published OpenAPI schemas.

Every order the official schema rejects must be rejected by the stand-in as
well. The stand-in may be stricter: it also applies rules that the docs
state in prose and the schema cannot express (code lists, refunds against
products, raw-or-hashed identities).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from connector.standin import StandIn

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
AUTH = {"Authorization": "test-key", "Data-Client-ID": "test-client"}

#: Values put in place of every field of a valid order, one at a time.
REPLACEMENTS: list[Any] = [
    None,
    True,
    0,
    1e15,
    -1,
    "",
    "x",
    [],
    ["a", "a"],
    [1],
    {},
    {"unknown": 1},
]


def _load_order_schema(version: str) -> dict[str, Any]:
    document = json.loads(
        (SHARED / "northbeam" / f"orders-{version}.openapi.json").read_text()
    )
    schema: dict[str, Any] = document["components"]["schemas"]["Order"]
    return _fix_maxima(schema)


def _fix_maxima(node: Any) -> Any:
    """Replace the string maximum "100_000_000_000_000" with the number 1e14."""
    if isinstance(node, dict):
        return {
            key: 1e14 if value == "100_000_000_000_000" else _fix_maxima(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_fix_maxima(item) for item in node]
    return node


def _rich_order(version: str, *, hashed: bool) -> dict[str, Any]:
    """Return a valid order that carries every optional field once."""
    order: dict[str, Any] = {
        "order_id": "order-1",
        "customer_id": "customer-1",
        "time_of_purchase": "2024-03-08T01:23:45-08:00",
        "customer_name": "Jane Doe",
        "customer_ip_address": "127.0.0.1",
        "discount_codes": ["SPRING"],
        "discount_amount": 5,
        "order_tags": ["web"],
        "tax": 1.25,
        "is_recurring_order": False,
        "currency": "EUR",
        "purchase_total": 30,
        "products": [
            {"id": "sku-1", "name": "Mug", "quantity": 2, "price": 9.75},
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
        "customer_shipping_address": {
            "address1": "1 Main St",
            "address2": "Apt 2",
            "city": "Springfield",
            "state": "IL",
            "zip": "11111",
            "country_code": "USA",
        },
    }
    if hashed:
        order["hashed_customer_email"] = "a" * 64
        order["hashed_customer_phone_number"] = "b" * 64
    else:
        order["customer_email"] = "jane@example.com"
        order["customer_phone_number"] = "+15555550100"
    if version == "v2":
        order["shipping_cost"] = 4.99
        order["alternate_order_ids"] = [{"type": "checkout_token", "id": "t-1"}]
        order["products"][0].update(variant_id="red", variant_name="Red")
        order["refunds"][0]["variant_id"] = "red"
    return order


def _locations(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Yield the path of every key and list item inside ``node``."""
    children: Any = ()
    if isinstance(node, dict):
        children = node.items()
    elif isinstance(node, list):
        children = enumerate(node)
    for key, value in children:
        yield (*path, key)
        yield from _locations(value, (*path, key))


def _objects(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        yield path
    for location in _locations(node, path):
        if isinstance(_get(node, location[len(path) :]), dict):
            yield location


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        node = node[key]
    return node


def _mutants(order: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield orders with one field replaced, removed, or one key added."""
    for location in _locations(order):
        label = ".".join(map(str, location))
        for replacement in REPLACEMENTS:
            mutant = copy.deepcopy(order)
            _get(mutant, location[:-1])[location[-1]] = copy.deepcopy(replacement)
            yield f"{label}={replacement!r}", mutant
        mutant = copy.deepcopy(order)
        del _get(mutant, location[:-1])[location[-1]]
        yield f"del {label}", mutant
    for location in _objects(order):
        mutant = copy.deepcopy(order)
        _get(mutant, location)["unknown_field"] = 1
        yield f"unknown key in {'.'.join(map(str, location)) or 'order'}", mutant


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with StandIn() as server, httpx.Client(base_url=server.url, headers=AUTH) as client:
        yield client


def _schema_accepts(validator: jsonschema.Validator, batch: list[Any]) -> bool:
    return not any(True for _ in validator.iter_errors(batch))


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("hashed", [True, False], ids=["hashed", "raw"])
def test_valid_samples_pass_schema_and_stand_in(http, version, hashed):
    validator = jsonschema.Draft202012Validator(
        _load_order_schema(version),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    batch = [_rich_order(version, hashed=hashed)]

    assert _schema_accepts(validator, batch)
    assert http.post(f"/{version}/orders", json=batch).status_code == 200


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("hashed", [True, False], ids=["hashed", "raw"])
def test_schema_rejects_imply_stand_in_rejects(http, version, hashed):
    validator = jsonschema.Draft202012Validator(
        _load_order_schema(version),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    accepted_by_stand_in: list[str] = []
    schema_rejects = 0
    for label, mutant in _mutants(_rich_order(version, hashed=hashed)):
        if _schema_accepts(validator, [mutant]):
            continue
        schema_rejects += 1
        response = http.post(f"/{version}/orders", json=[mutant])
        if response.status_code != 400:
            accepted_by_stand_in.append(f"{label} -> {response.status_code}")

    assert schema_rejects > 100
    assert accepted_by_stand_in == []


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_schema_patterns_accept_what_stand_in_rejects(http, version):
    """The ungrouped code patterns accept any text containing a code."""
    validator = jsonschema.Draft202012Validator(_load_order_schema(version))
    order = _rich_order(version, hashed=True)
    order["currency"] = "XUSDX"
    order["customer_shipping_address"]["country_code"] = "XUSAX"

    assert _schema_accepts(validator, [order])
    assert http.post(f"/{version}/orders", json=[order]).status_code == 400

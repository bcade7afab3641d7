"""Validation of outgoing orders against the v1 and v2 contracts."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from connector.validate import OrderValidator, validate_order

MARKER_EMAIL = "marker-9034@example.com"
DELETE = object()
HASH = "836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f"


def good_order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "order_id": "1001",
        "customer_id": "77",
        "time_of_purchase": "2024-09-01T15:01:00-04:00",
        "currency": "USD",
        "purchase_total": Decimal("25.98"),
        "tax": Decimal("1.20"),
        "hashed_customer_email": HASH,
        "customer_name": "Jane Doe",
        "customer_ip_address": "2001:db8::1",
        "discount_codes": ["SPRING"],
        "discount_amount": 0,
        "order_tags": ["vip", "gift"],
        "is_recurring_order": False,
        "products": [
            {"id": "A", "name": "Tee", "quantity": 2, "price": Decimal("11.00")},
            {"id": "B", "name": "Cap", "quantity": 1, "price": 3.98},
        ],
        "refunds": [
            {
                "product_id": "A",
                "quantity": 1,
                "refund_amount": Decimal("11.00"),
                "refund_cost": Decimal("11.00"),
                "refund_made_at": "2024-09-03T12:00:00Z",
            }
        ],
        "customer_shipping_address": {
            "address1": "1 Main St",
            "city": "Philadelphia",
            "zip": "19103",
            "country_code": "USA",
        },
    }
    order.update(changes)
    return order


def good_v2_order(**changes: Any) -> dict[str, Any]:
    order = good_order(shipping_cost=Decimal("4.99"))
    order["alternate_order_ids"] = [{"type": "shopify_checkout_token", "id": "abc"}]
    order["products"][0].update(variant_id="A-M", variant_name="Medium")
    order["refunds"][0]["variant_id"] = "A-M"
    order.update(changes)
    return order


def reason_paths(reason: str) -> list[str]:
    return [part.split(":", 1)[0] for part in reason.split("; ")]


@pytest.mark.parametrize(
    ("version", "document"),
    [("v1", good_order()), ("v2", good_v2_order())],
)
def test_good_order_passes(version: str, document: dict[str, Any]) -> None:
    assert OrderValidator(version).check("k", document) is None
    assert validate_order(document, version) == []


def test_minimal_order_passes() -> None:
    document = {
        "order_id": "1",
        "customer_id": "c1",
        "time_of_purchase": "2024-09-01T15:01:00+00:00",
        "currency": "EUR",
        "purchase_total": 0,
        "tax": 0,
        "products": [{"id": "p", "name": "n", "quantity": 1, "price": 0}],
    }
    assert OrderValidator("v1").check("k", document) is None


BAD_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("missing tax", {"tax": DELETE}, "$.tax"),
    ("empty order id", {"order_id": ""}, "$.order_id"),
    ("numeric order id", {"order_id": 1001}, "$.order_id"),
    ("money as text", {"purchase_total": "25.98"}, "$.purchase_total"),
    ("money as bool", {"tax": True}, "$.tax"),
    (
        "money above max",
        {"purchase_total": Decimal("100000000000000.01")},
        "$.purchase_total",
    ),
    ("money not finite", {"purchase_total": float("inf")}, "$.purchase_total"),
    ("negative discount", {"discount_amount": Decimal("-1")}, "$.discount_amount"),
    ("naive time", {"time_of_purchase": "2024-09-01T15:01:00"}, "$.time_of_purchase"),
    ("date only", {"time_of_purchase": "2024-09-01"}, "$.time_of_purchase"),
    (
        "impossible date",
        {"time_of_purchase": "2024-02-30T10:00:00Z"},
        "$.time_of_purchase",
    ),
    ("lowercase currency", {"currency": "usd"}, "$.currency"),
    ("unknown currency", {"currency": "XYZ"}, "$.currency"),
    ("non-ISO currency", {"currency": "GGP"}, "$.currency"),
    ("null optional", {"customer_name": None}, "$.customer_name"),
    ("unknown key", {"colour": "red"}, "$.colour"),
    (
        "raw and hashed email",
        {"customer_email": MARKER_EMAIL},
        "$.hashed_customer_email",
    ),
    (
        "uppercase hash",
        {"hashed_customer_email": HASH.upper()},
        "$.hashed_customer_email",
    ),
    (
        "short hash",
        {"hashed_customer_phone_number": "abc123"},
        "$.hashed_customer_phone_number",
    ),
    ("bad ip", {"customer_ip_address": "300.1.1.1"}, "$.customer_ip_address"),
    ("customer id is email", {"customer_id": MARKER_EMAIL}, "$.customer_id"),
    ("customer id is order id", {"customer_id": "1001"}, "$.customer_id"),
    ("repeated discount code", {"discount_codes": ["A", "A"]}, "$.discount_codes[1]"),
    ("repeated tag", {"order_tags": ["x", "y", "x"]}, "$.order_tags[2]"),
    ("no products", {"products": []}, "$.products"),
    ("recurring as text", {"is_recurring_order": "true"}, "$.is_recurring_order"),
]


@pytest.mark.parametrize(
    ("case", "changes", "path"), BAD_CASES, ids=[c[0] for c in BAD_CASES]
)
def test_bad_order_is_rejected_with_path(
    case: str, changes: dict[str, Any], path: str
) -> None:
    document = good_order(**changes)
    document = {key: value for key, value in document.items() if value is not DELETE}
    reject = OrderValidator("v1").check("key-7", document)
    assert reject is not None, case
    assert reject.stage == "validation"
    assert reject.order_key == "key-7"
    assert path in reason_paths(reject.reason)


def test_reason_never_contains_input_values() -> None:
    document = good_order(
        customer_id=MARKER_EMAIL,
        customer_email=MARKER_EMAIL,
        customer_name=["Jane"],
        currency=MARKER_EMAIL,
        customer_ip_address=MARKER_EMAIL,
    )
    reject = OrderValidator("v1").check("k", document)
    assert reject is not None
    assert "marker-9034" not in reject.reason
    assert "Jane" not in reject.reason
    assert len(reason_paths(reject.reason)) >= 5


def test_field_path_is_first_problem() -> None:
    document = good_order(currency="usd", tax="1")
    reject = OrderValidator("v1").check("k", document)
    assert reject is not None
    assert reject.field_path == reason_paths(reject.reason)[0]
    assert reject.order_id == "1001"


def test_product_problems_name_item_path() -> None:
    products = [
        {"id": "A", "name": "Tee", "quantity": 1, "price": 1},
        {"id": "B", "name": "", "quantity": 1, "price": "1.00"},
    ]
    reject = OrderValidator("v1").check("k", good_order(products=products, refunds=[]))
    assert reject is not None
    paths = reason_paths(reject.reason)
    assert "$.products[1].name" in paths
    assert "$.products[1].price" in paths


def test_duplicate_product_ids_are_rejected() -> None:
    products = [
        {"id": "A", "name": "Tee", "quantity": 1, "price": 1},
        {"id": "A", "name": "Tee", "quantity": 1, "price": 2},
    ]
    reject = OrderValidator("v1").check("k", good_order(products=products))
    assert reject is not None
    assert reason_paths(reject.reason) == ["$.products[1].id"]


def test_refund_of_unknown_product_is_rejected() -> None:
    document = good_order()
    document["refunds"][0]["product_id"] = "Z"
    reject = OrderValidator("v1").check("k", document)
    assert reject is not None
    assert reason_paths(reject.reason) == ["$.refunds[0].product_id"]


def test_refunds_above_quantity_sold_are_rejected() -> None:
    document = good_order()
    second = copy.deepcopy(document["refunds"][0])
    second["refund_made_at"] = "2024-09-04T12:00:00Z"
    second["quantity"] = 1.5
    document["refunds"].append(second)
    reject = OrderValidator("v1").check("k", document)
    assert reject is not None
    assert reason_paths(reject.reason) == ["$.refunds[1].quantity"]


def test_repeated_refund_is_rejected() -> None:
    document = good_order(
        products=[{"id": "A", "name": "Tee", "quantity": 5, "price": 1}]
    )
    document["refunds"].append(copy.deepcopy(document["refunds"][0]))
    reject = OrderValidator("v1").check("k", document)
    assert reject is not None
    assert reason_paths(reject.reason) == ["$.refunds[1]"]


def test_negative_total_and_price_are_allowed() -> None:
    """Exchanges produce negative totals, and the contract sets no minimum."""
    products = [{"id": "A", "name": "Credit", "quantity": 1, "price": Decimal("-5")}]
    document = good_order(purchase_total=Decimal("-5"), products=products, refunds=[])
    assert OrderValidator("v1").check("k", document) is None


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("shipping_cost", "$.shipping_cost"),
        ("alternate_order_ids", "$.alternate_order_ids"),
    ],
)
def test_v2_keys_are_rejected_under_v1(key: str, path: str) -> None:
    document = good_order(**{key: good_v2_order()[key]})
    reject = OrderValidator("v1").check("k", document)
    assert reject is not None
    assert f"{path}: is accepted only by Orders API v2" in reject.reason


def test_v2_product_variant_is_rejected_under_v1() -> None:
    document = good_order()
    document["products"][0]["variant_id"] = "A-M"
    reject = OrderValidator("v1").check("k", document)
    assert reject is not None
    assert reject.field_path == "$.products[0].variant_id"
    assert "only by Orders API v2" in reject.reason


def test_v2_requires_shipping_cost() -> None:
    document = good_v2_order()
    del document["shipping_cost"]
    reject = OrderValidator("v2").check("k", document)
    assert reject is not None
    assert reject.reason == "$.shipping_cost: is required but missing"


def test_v2_shipping_cost_cannot_be_negative() -> None:
    reject = OrderValidator("v2").check("k", good_v2_order(shipping_cost=-1))
    assert reject is not None
    assert reject.field_path == "$.shipping_cost"


def test_v2_empty_variant_name_is_rejected() -> None:
    document = good_v2_order()
    document["products"][0]["variant_name"] = ""
    reject = OrderValidator("v2").check("k", document)
    assert reject is not None
    assert reject.field_path == "$.products[0].variant_name"


def test_address_needs_zip_and_alpha3_country() -> None:
    address = {"city": "Leeds", "country_code": "GB"}
    reject = OrderValidator("v1").check(
        "k", good_order(customer_shipping_address=address)
    )
    assert reject is not None
    paths = reason_paths(reject.reason)
    assert "$.customer_shipping_address.zip" in paths
    assert "$.customer_shipping_address.country_code" in paths


def test_unknown_api_version_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown Orders API version"):
        OrderValidator("v3")


def test_server_rules_are_recorded_by_path() -> None:
    validator = OrderValidator("v1")
    validator.add_server_rule("$.products[3].price", "Price must be positive")
    validator.add_server_rule("$.products[0].price", "Price must be positive")
    validator.add_server_rule(
        "$.currency", "Currency does not match any known currencies"
    )
    rules = validator.server_rules
    assert [(rule.json_path, rule.count) for rule in rules] == [
        ("$.products[*].price", 2),
        ("$.currency", 1),
    ]
    assert validator.check("k", good_order()) is None

"""The stand-in's own validation rules, one case per rule."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from connector.standin.rules import validate_orders, validate_patches

Order = dict[str, Any]


def _set(path: str, value: Any) -> Callable[[Order], None]:
    """Return a change that sets a dotted path (``products.0.id``) to ``value``."""

    def change(order: Order) -> None:
        *parents, last = path.split(".")
        target: Any = order
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value

    return change


def _delete(key: str) -> Callable[[Order], None]:
    def change(order: Order) -> None:
        del order[key]

    return change


def _add_product(**fields: Any) -> Callable[[Order], None]:
    def change(order: Order) -> None:
        order["products"].append(
            {"id": "sku-1", "name": "Mug", "quantity": 1, "price": 1, **fields}
        )

    return change


def _paths(order: Order, version: str = "v1") -> list[str]:
    return [problem.json_path for problem in validate_orders([order], version)]


def test_full_orders_are_valid(make_order):
    assert _paths(make_order()) == []
    assert _paths(make_order("v2"), "v2") == []


def test_minimal_order_is_valid(make_order):
    order = make_order()
    for key in ("hashed_customer_email", "discount_codes", "order_tags", "refunds"):
        del order[key]
    del order["customer_shipping_address"]

    assert _paths(order) == []


def test_v2_only_fields_are_valid_in_v2(make_order):
    order = make_order("v2")
    order["alternate_order_ids"] = [{"type": "shopify_checkout_token", "id": "t-1"}]
    order["products"][0].update(variant_id="red", variant_name="Red")
    order["refunds"][0]["variant_id"] = "red"

    assert _paths(order, "v2") == []


@pytest.mark.parametrize(
    "field",
    [
        "order_id",
        "customer_id",
        "time_of_purchase",
        "currency",
        "purchase_total",
        "tax",
        "products",
    ],
)
def test_missing_required_field_is_reported(make_order, field):
    order = make_order()
    del order[field]

    problems = validate_orders([order], "v1")

    assert [p.json_path for p in problems] == [f"$[0].{field}"]
    assert "required" in problems[0].message


def test_v2_requires_shipping_cost(make_order):
    assert _paths(make_order("v1"), "v2") == ["$[0].shipping_cost"]


_V1_CASES: list[tuple[str, Callable[[Order], None], list[str]]] = [
    ("shipping cost in v1", _set("shipping_cost", 1), ["$[0].shipping_cost"]),
    (
        "variant in v1",
        _set("products.0.variant_id", "x"),
        ["$[0].products[0].variant_id"],
    ),
    ("aliases in v1", _set("alternate_order_ids", []), ["$[0].alternate_order_ids"]),
    ("unknown key", _set("coupon", "X"), ["$[0].coupon"]),
    ("unknown odd key", _set("a b", 1), ['$[0]["a b"]']),
    (
        "unknown address key",
        _set("customer_shipping_address.country", "USA"),
        ["$[0].customer_shipping_address.country"],
    ),
    (
        "unknown refund key",
        _set("refunds.0.reason", "late"),
        ["$[0].refunds[0].reason"],
    ),
    ("empty order id", _set("order_id", ""), ["$[0].order_id"]),
    ("numeric customer id", _set("customer_id", 5), ["$[0].customer_id"]),
    ("customer id is order id", _set("customer_id", "order-1"), ["$[0].customer_id"]),
    ("customer id is email", _set("customer_id", "a@b.co"), ["$[0].customer_id"]),
    ("null optional field", _set("customer_name", None), ["$[0].customer_name"]),
    ("boolean money", _set("tax", True), ["$[0].tax"]),
    ("string money", _set("purchase_total", "25.50"), ["$[0].purchase_total"]),
    ("money above 1e14", _set("tax", 1e14 + 1), ["$[0].tax"]),
    ("price above 1e14", _set("products.0.price", 10**15), ["$[0].products[0].price"]),
    (
        "no offset",
        _set("time_of_purchase", "2024-03-08T01:23:45"),
        ["$[0].time_of_purchase"],
    ),
    ("date only", _set("time_of_purchase", "2024-03-08"), ["$[0].time_of_purchase"]),
    (
        "no seconds",
        _set("time_of_purchase", "2024-03-08T01:23Z"),
        ["$[0].time_of_purchase"],
    ),
    (
        "not a day",
        _set("time_of_purchase", "2024-02-30T01:23:45Z"),
        ["$[0].time_of_purchase"],
    ),
    (
        "refund without offset",
        _set("refunds.0.refund_made_at", "2024-03-10 09:00:00"),
        ["$[0].refunds[0].refund_made_at"],
    ),
    ("lowercase currency", _set("currency", "usd"), ["$[0].currency"]),
    ("currency inside text", _set("currency", "XUSDX"), ["$[0].currency"]),
    ("withdrawn currency", _set("currency", "HRK"), ["$[0].currency"]),
    (
        "alpha-2 country",
        _set("customer_shipping_address.country_code", "US"),
        ["$[0].customer_shipping_address.country_code"],
    ),
    (
        "country inside text",
        _set("customer_shipping_address.country_code", "XUSAX"),
        ["$[0].customer_shipping_address.country_code"],
    ),
    (
        "address without zip",
        lambda order: order["customer_shipping_address"].pop("zip"),
        ["$[0].customer_shipping_address.zip"],
    ),
    (
        "empty city",
        _set("customer_shipping_address.city", ""),
        ["$[0].customer_shipping_address.city"],
    ),
    (
        "no products",
        _set("products", []),
        ["$[0].products", "$[0].refunds[0].product_id"],
    ),
    ("product not an object", _set("products.1", "tea"), ["$[0].products[1]"]),
    ("empty product name", _set("products.0.name", ""), ["$[0].products[0].name"]),
    ("repeated product id", _add_product(), ["$[0].products[2].id"]),
    (
        "refund of unsold product",
        _set("refunds.0.product_id", "sku-9"),
        ["$[0].refunds[0].product_id"],
    ),
    (
        "refund above sold quantity",
        _set("refunds.0.quantity", 3),
        ["$[0].refunds[0].quantity"],
    ),
    (
        "repeated refund",
        lambda order: order["refunds"].append(copy.deepcopy(order["refunds"][0])),
        ["$[0].refunds[1]"],
    ),
    (
        "raw and hashed email",
        _set("customer_email", "a@b.co"),
        ["$[0].hashed_customer_email"],
    ),
    (
        "raw and hashed phone",
        lambda order: order.update(
            customer_phone_number="+15555550100", hashed_customer_phone_number="b" * 64
        ),
        ["$[0].hashed_customer_phone_number"],
    ),
    (
        "uppercase hash",
        _set("hashed_customer_email", "A" * 64),
        ["$[0].hashed_customer_email"],
    ),
    (
        "short hash",
        _set("hashed_customer_email", "a" * 63),
        ["$[0].hashed_customer_email"],
    ),
    (
        "not an email",
        lambda order: (
            order.pop("hashed_customer_email") and order.update(customer_email="x")
        ),
        ["$[0].customer_email"],
    ),
    ("bad ip", _set("customer_ip_address", "999.1.1.1"), ["$[0].customer_ip_address"]),
    ("repeated tag", _set("order_tags", ["a", "a"]), ["$[0].order_tags[1]"]),
    ("numeric code", _set("discount_codes", ["A", 5]), ["$[0].discount_codes[1]"]),
    ("tags not an array", _set("order_tags", "web"), ["$[0].order_tags"]),
    (
        "recurring not boolean",
        _set("is_recurring_order", "yes"),
        ["$[0].is_recurring_order"],
    ),
]


@pytest.mark.parametrize(
    ("change", "paths"),
    [case[1:] for case in _V1_CASES],
    ids=[case[0] for case in _V1_CASES],
)
def test_v1_rule_is_enforced(make_order, change, paths):
    order = make_order()
    change(order)

    assert _paths(order) == paths


@pytest.mark.parametrize(
    ("change", "paths"),
    [
        (_set("products.0.variant_name", ""), ["$[0].products[0].variant_name"]),
        (_set("products.0.variant_id", ""), ["$[0].products[0].variant_id"]),
        (
            _set("alternate_order_ids", [{"type": "t"}]),
            ["$[0].alternate_order_ids[0].id"],
        ),
        (
            _set("alternate_order_ids", [{"type": "t", "id": "1", "x": 1}]),
            ["$[0].alternate_order_ids[0].x"],
        ),
        (_set("refunds.0.variant_id", "blue"), ["$[0].refunds[0].product_id"]),
        (_set("shipping_cost", "4.99"), ["$[0].shipping_cost"]),
    ],
)
def test_v2_rule_is_enforced(make_order, change, paths):
    order = make_order("v2")
    change(order)

    assert _paths(order, "v2") == paths


def test_v2_variants_may_share_a_product_id(make_order):
    order = make_order("v2")
    order["products"][0]["variant_id"] = "red"
    _add_product(variant_id="blue")(order)

    assert _paths(order, "v2") == []


def test_refund_quantity_counts_all_variants_of_a_product(make_order):
    order = make_order("v2")
    order["products"][0]["variant_id"] = "red"
    _add_product(variant_id="blue")(order)
    order["refunds"][0]["quantity"] = 3

    assert _paths(order, "v2") == []


def test_negative_amounts_are_allowed(make_order):
    assert _paths(make_order(discount_amount=-5, tax=-0.5)) == []


def test_problem_names_the_order_id(make_order):
    problems = validate_orders([make_order(), make_order(order_id="b", tax="x")], "v1")

    assert [(p.order_id, p.json_path) for p in problems] == [("b", "$[1].tax")]


def test_non_object_order_has_no_id():
    problems = validate_orders(["not an order"], "v1")

    assert [(p.order_id, p.json_path) for p in problems] == [(None, "$[0]")]


def test_identical_orders_in_one_batch_are_invalid(make_order):
    problems = validate_orders([make_order(), make_order()], "v1")

    assert [p.json_path for p in problems] == ["$[1]"]


def test_same_order_id_with_new_content_is_allowed(make_order):
    assert validate_orders([make_order(tax=1), make_order(tax=2)], "v1") == []


def test_forced_reject_marks_a_valid_order(make_order):
    problems = validate_orders([make_order()], "v1", reject_order_ids={"order-1"})

    assert [(p.order_id, p.json_path) for p in problems] == [("order-1", "$[0]")]


def test_messages_do_not_echo_personal_values(make_order):
    order = make_order(customer_id="someone@example.com")
    order.pop("hashed_customer_email")
    order["customer_email"] = "not an email"

    messages = " ".join(p.message for p in validate_orders([order], "v1"))

    assert "someone" not in messages
    assert "not an email" not in messages.replace("is not an email address", "")


def test_patch_requires_ids_and_rejects_products():
    problems = validate_patches([{"tax": 1, "products": []}])

    assert sorted(p.json_path for p in problems) == [
        "$[0].customer_id",
        "$[0].order_id",
        "$[0].products",
    ]


def test_patch_allows_null_to_clear_optional_fields():
    entry = {"order_id": "a", "customer_id": "b", "customer_name": None, "tax": None}

    assert validate_patches([entry]) == []


def test_patch_rejects_null_order_id():
    assert [
        p.json_path for p in validate_patches([{"order_id": None, "customer_id": "b"}])
    ] == ["$[0].order_id"]

"""Validation of order batches, written independently of ``connector.validate``.

The rules follow Northbeam's OpenAPI files and the rules its docs state in
prose:

- Unknown keys are invalid in orders and in every nested object.
- Money and quantities are numbers of at most 1e14. Negatives are allowed
  because the files set no minimum.
- Timestamps carry a UTC offset.
- Currency and country come from the ISO code lists.
- Product ids are unique within an order.
- A refund names a sold product and refunds no more than was sold.
- An identity is sent raw or hashed, never both.
- ``customer_id`` is neither the order id nor an email address.

The allowed keys and value checks of each object are in ``shapes``.

Every ``json_path`` is relative to the request body, so ``$[3].tax`` is the
tax of the fourth order in the batch.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from connector.standin import fields as f
from connector.standin.shapes import (
    ORDER_SPECS,
    PATCH_SPEC,
    ApiVersion,
    check_object,
    child_path,
)

_IDENTITY_PAIRS = (
    ("customer_email", "hashed_customer_email"),
    ("customer_phone_number", "hashed_customer_phone_number"),
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation failure, as listed in a 400 response."""

    order_id: str | None
    message: str
    json_path: str

    def as_dict(self) -> dict[str, Any]:
        """Return the entry as Northbeam's error list spells it."""
        return {
            "order_id": self.order_id,
            "message": self.message,
            "json_path": self.json_path,
        }


def validate_orders(
    orders: list[Any],
    version: ApiVersion,
    *,
    reject_order_ids: Collection[str] = (),
) -> list[Problem]:
    """Return every problem of a POST batch, or an empty list if all are valid.

    Ids in ``reject_order_ids`` are reported invalid even when the order is
    valid, to imitate server-side rules a client cannot check.
    Identical orders in one batch are invalid (the schema sets
    ``uniqueItems``), but two different orders with the same ``order_id``
    are both accepted and the later one is stored.
    """
    problems: list[Problem] = []
    first_index: dict[str, int] = {}
    for index, order in enumerate(orders):
        path = f"$[{index}]"
        report = _reporter(problems, order)
        if check_object(order, path, ORDER_SPECS[version], report):
            check_order_rules(order, path, version, report)
        if _order_id_of(order) in reject_order_ids:
            report(path, "was rejected by a server-side rule")
        earlier = first_index.setdefault(_canonical(order), index)
        if earlier != index:
            report(path, f"is identical to the order at $[{earlier}]")
    return problems


def validate_patches(entries: list[Any]) -> list[Problem]:
    """Return every problem of a PATCH batch, before the stored orders are read."""
    problems: list[Problem] = []
    for index, entry in enumerate(entries):
        path = f"$[{index}]"
        report = _reporter(problems, entry)
        if check_object(entry, path, PATCH_SPEC, report):
            _check_identity(entry, path, report)
            _check_customer_id(entry, path, report)
    return problems


def check_order_rules(
    order: dict[str, Any], path: str, version: ApiVersion, report: f.Report
) -> None:
    """Check the rules that span several fields of one order."""
    _check_identity(order, path, report)
    _check_customer_id(order, path, report)
    products = order.get("products")
    if not isinstance(products, list):
        return
    sold = _sold_quantities(products, child_path(path, "products"), version, report)
    refunds = order.get("refunds")
    if isinstance(refunds, list):
        _check_refunds(refunds, child_path(path, "refunds"), sold, report)


def _reporter(problems: list[Problem], order: Any) -> f.Report:
    order_id = _order_id_of(order)

    def report(json_path: str, message: str) -> None:
        problems.append(Problem(order_id, message, json_path))

    return report


def _order_id_of(order: Any) -> str | None:
    if isinstance(order, dict) and isinstance(order.get("order_id"), str):
        return str(order["order_id"])
    return None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _check_identity(order: dict[str, Any], path: str, report: f.Report) -> None:
    for raw, hashed in _IDENTITY_PAIRS:
        if order.get(raw) is not None and order.get(hashed) is not None:
            report(child_path(path, hashed), f"must not be sent together with {raw}")


def _check_customer_id(order: dict[str, Any], path: str, report: f.Report) -> None:
    customer_id = order.get("customer_id")
    if not isinstance(customer_id, str) or not customer_id:
        return
    if customer_id == order.get("order_id"):
        report(child_path(path, "customer_id"), "must not equal order_id")
    if f.looks_like_email(customer_id):
        report(child_path(path, "customer_id"), "must not be an email address")


_ProductKey = tuple[str, str | None]


def _sold_quantities(
    products: list[Any], path: str, version: ApiVersion, report: f.Report
) -> dict[_ProductKey, float]:
    """Sum sold quantities per product and report repeated product ids.

    In v2 a product line is identified by its id and variant id together,
    so two variants of one product may share the product id.
    """
    sold: dict[_ProductKey, float] = {}
    for index, product in enumerate(products):
        if not isinstance(product, dict) or not isinstance(product.get("id"), str):
            continue
        variant = product.get("variant_id") if version == "v2" else None
        key = (product["id"], variant if isinstance(variant, str) else None)
        if key in sold:
            report(f"{path}[{index}].id", "repeats a product id of this order")
        quantity = product.get("quantity")
        sold[key] = sold.get(key, 0) + (quantity if f.is_number(quantity) else 0)
    return sold


def _check_refunds(
    refunds: list[Any], path: str, sold: dict[_ProductKey, float], report: f.Report
) -> None:
    first_index: dict[str, int] = {}
    for index, refund in enumerate(refunds):
        item_path = f"{path}[{index}]"
        earlier = first_index.setdefault(_canonical(refund), index)
        if earlier != index:
            report(item_path, f"is identical to refunds[{earlier}]")
        if isinstance(refund, dict):
            _check_refund_product(refund, item_path, sold, report)


def _check_refund_product(
    refund: dict[str, Any],
    path: str,
    sold: dict[_ProductKey, float],
    report: f.Report,
) -> None:
    product_id = refund.get("product_id")
    if not isinstance(product_id, str):
        return
    variant = refund.get("variant_id")
    if isinstance(variant, str):
        matches = [qty for key, qty in sold.items() if key == (product_id, variant)]
    else:
        matches = [qty for key, qty in sold.items() if key[0] == product_id]
    if not matches:
        report(f"{path}.product_id", "names a product that is not in products")
        return
    quantity = refund.get("quantity")
    if f.is_number(quantity) and quantity > sum(matches):
        report(
            f"{path}.quantity",
            f"refunds {quantity} units but the order sold {sum(matches)}",
        )

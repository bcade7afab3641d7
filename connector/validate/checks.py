"""Rules of the Orders API that span several fields of one order.

Each check tolerates a malformed document (the schema check reports those)
and returns problems as ``(json_path, message)`` pairs without values.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

_EMAIL_LIKE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

#: Raw and hashed field of each identity. The API accepts one of each pair.
_IDENTITY_PAIRS = (
    ("customer_email", "hashed_customer_email"),
    ("customer_phone_number", "hashed_customer_phone_number"),
)

Found = list[tuple[str, str]]


def check_order(document: dict[str, Any]) -> Found:
    """Return the cross-field problems of one order document."""
    found: Found = []
    _check_identities(document, found)
    _check_customer_id(document, found)
    sold = _check_products(document.get("products"), found)
    _check_refunds(document.get("refunds"), sold, found)
    for name in ("discount_codes", "order_tags"):
        _check_unique(document.get(name), name, found)
    return found


def _check_identities(document: dict[str, Any], found: Found) -> None:
    for raw, hashed in _IDENTITY_PAIRS:
        if raw in document and hashed in document:
            found.append(
                (
                    f"$.{hashed}",
                    f"both {raw} and {hashed} are set, but the API accepts only "
                    "one of them. Send either the raw or the hashed value",
                )
            )


def _check_customer_id(document: dict[str, Any], found: Found) -> None:
    customer_id = document.get("customer_id")
    if not isinstance(customer_id, str):
        return
    if _EMAIL_LIKE.match(customer_id):
        found.append(
            (
                "$.customer_id",
                "looks like an email address, but the API requires an internal "
                "customer id here. Map the customer id column, and the email "
                "under identity:",
            )
        )
    if customer_id == document.get("order_id"):
        found.append(
            (
                "$.customer_id",
                "equals order_id, but the API requires the customer id to "
                "differ from the order id",
            )
        )


def _check_products(products: Any, found: Found) -> dict[str, Any]:
    """Report repeated product ids and return the quantity sold per id."""
    sold: dict[str, Any] = {}
    if not isinstance(products, list):
        return sold
    for position, product in enumerate(products):
        if not isinstance(product, dict):
            continue
        product_id = product.get("id")
        if not isinstance(product_id, str):
            continue
        if product_id in sold:
            found.append(
                (
                    f"$.products[{position}].id",
                    "repeats the id of an earlier product, but product ids must "
                    "be unique within an order. Merge the lines or use a "
                    "variant-level id",
                )
            )
            continue
        sold[product_id] = product.get("quantity")
    return sold


def _check_refunds(refunds: Any, sold: dict[str, Any], found: Found) -> None:
    if not isinstance(refunds, list):
        return
    refunded: dict[str, Decimal] = {}
    seen: set[Any] = set()
    for position, refund in enumerate(refunds):
        if not isinstance(refund, dict):
            continue
        path = f"$.refunds[{position}]"
        _check_repeat(refund, seen, path, found)
        product_id = refund.get("product_id")
        if not isinstance(product_id, str):
            continue
        if product_id not in sold:
            found.append(
                (
                    f"{path}.product_id",
                    "names a product that is not in products. A refund must "
                    "refer to a product id of the same order",
                )
            )
            continue
        quantity, quantity_sold = (
            _decimal(refund.get("quantity")),
            _decimal(sold[product_id]),
        )
        if quantity is None or quantity_sold is None:
            continue
        refunded[product_id] = refunded.get(product_id, Decimal(0)) + quantity
        if refunded[product_id] > quantity_sold:
            found.append(
                (
                    f"{path}.quantity",
                    "brings the refunded quantity of this product above the "
                    "quantity sold",
                )
            )


def _check_repeat(
    refund: dict[str, Any], seen: set[Any], path: str, found: Found
) -> None:
    try:
        identity = tuple(sorted(refund.items()))
        repeated = identity in seen
    except TypeError:
        return
    if repeated:
        found.append(
            (path, "repeats an earlier refund, but the API requires unique refunds")
        )
    seen.add(identity)


def _check_unique(items: Any, name: str, found: Found) -> None:
    if not isinstance(items, list):
        return
    seen: set[Any] = set()
    for position, item in enumerate(items):
        if not isinstance(item, str):
            continue
        if item in seen:
            found.append(
                (
                    f"$.{name}[{position}]",
                    f"repeats an earlier item, but the API requires unique {name}",
                )
            )
        seen.add(item)


def _decimal(value: Any) -> Decimal | None:
    """Return a finite number as Decimal, so int, float and Decimal add up."""
    kind = type(value)
    if kind is int:
        return Decimal(value)
    if kind is float and math.isfinite(value):
        return Decimal(repr(value))
    if kind is Decimal and value.is_finite():
        return value  # type: ignore[no-any-return]
    return None

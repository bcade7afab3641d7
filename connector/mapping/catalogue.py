"""Northbeam order fields a mapping may fill, per API version, with their kinds.

A kind names the conversion applied to the warehouse value (see
``connector.mapping.convert``). The field lists follow the ``Order`` schema
of the v1 and v2 OpenAPI contracts of the Orders API.
"""

from __future__ import annotations

from typing import Final

_ORDER_V1: Final[dict[str, str]] = {
    "order_id": "id",
    "customer_id": "id",
    "time_of_purchase": "timestamp",
    "currency": "currency",
    "purchase_total": "money",
    "tax": "money",
    "discount_amount": "money",
    "discount_codes": "list",
    "order_tags": "list",
    "is_recurring_order": "bool",
    "customer_name": "text",
    "customer_ip_address": "text",
}
_ORDER_V2_ONLY: Final[dict[str, str]] = {
    "shipping_cost": "money",
    "alternate_order_ids": "aliases",
}
_PRODUCT_V1: Final[dict[str, str]] = {
    "id": "id",
    "name": "text",
    "quantity": "number",
    "price": "money",
}
_PRODUCT_V2_ONLY: Final[dict[str, str]] = {"variant_id": "id", "variant_name": "text"}
_REFUND_V1: Final[dict[str, str]] = {
    "product_id": "id",
    "quantity": "number",
    "refund_amount": "money",
    "refund_cost": "money",
    "refund_made_at": "timestamp",
}
_REFUND_V2_ONLY: Final[dict[str, str]] = {"variant_id": "id"}

ADDRESS_FIELDS: Final[dict[str, str]] = {
    "address1": "text",
    "address2": "text",
    "city": "text",
    "state": "text",
    "zip": "text",
    "country_code": "country",
}
ADDRESS_REQUIRED: Final = ("zip", "country_code")

IDENTITY_FIELDS: Final[dict[str, str]] = {
    "email": "email",
    "email_sha256": "sha256",
    "phone": "phone",
    "phone_sha256": "sha256",
    "phone_region": "region",
}

#: Northbeam identity fields that must come from ``identity:``, never ``fields:``.
IDENTITY_API_FIELDS: Final[dict[str, str]] = {
    "customer_email": "identity: email",
    "customer_phone_number": "identity: phone",
    "hashed_customer_email": "identity: email_sha256",
    "hashed_customer_phone_number": "identity: phone_sha256",
}

#: Order fields written as their own top-level block of the mapping.
BLOCK_FIELDS: Final[dict[str, str]] = {
    "products": "products:",
    "refunds": "refunds:",
    "customer_shipping_address": "shipping_address:",
}

_ORDER_REQUIRED_V1: Final = (
    "order_id",
    "customer_id",
    "time_of_purchase",
    "currency",
    "purchase_total",
    "tax",
)
PRODUCT_REQUIRED: Final = ("id", "name", "quantity", "price")
REFUND_REQUIRED: Final = (
    "product_id",
    "quantity",
    "refund_amount",
    "refund_cost",
    "refund_made_at",
)


def order_fields(api_version: str) -> dict[str, str]:
    """Return the order-level fields of ``api_version`` mapped to their kinds."""
    if api_version == "v2":
        return {**_ORDER_V1, **_ORDER_V2_ONLY}
    return dict(_ORDER_V1)


def order_required(api_version: str) -> tuple[str, ...]:
    """Return the order-level fields the API requires (``products`` aside)."""
    if api_version == "v2":
        return (*_ORDER_REQUIRED_V1, "shipping_cost")
    return _ORDER_REQUIRED_V1


def child_fields(child: str, api_version: str) -> dict[str, str]:
    """Return the fields of one ``products`` or ``refunds`` item."""
    if child == "products":
        extra = _PRODUCT_V2_ONLY if api_version == "v2" else {}
        return {**_PRODUCT_V1, **extra}
    extra = _REFUND_V2_ONLY if api_version == "v2" else {}
    return {**_REFUND_V1, **extra}


def child_required(child: str) -> tuple[str, ...]:
    """Return the required fields of one ``products`` or ``refunds`` item."""
    return PRODUCT_REQUIRED if child == "products" else REFUND_REQUIRED


def is_v2_only(section: str, name: str) -> bool:
    """Tell whether ``name`` exists in ``section`` under API v2 but not v1."""
    table = {
        "fields": _ORDER_V2_ONLY,
        "products": _PRODUCT_V2_ONLY,
        "refunds": _REFUND_V2_ONLY,
    }.get(section, {})
    return name in table

"""Allowed keys and value checks of each JSON object in an orders request.

Unknown keys are invalid in orders, products, refunds, addresses and
alternate order ids. Explicit nulls are invalid everywhere except at the top
level of PATCH entries, where null clears an optional field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from connector.standin import fields as f

ApiVersion = Literal["v1", "v2"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class ObjectSpec:
    """Allowed keys of one JSON object, their checks and the required keys."""

    name: str
    fields: Mapping[str, f.Check]
    required: tuple[str, ...]


def child_path(path: str, key: str) -> str:
    """Return the JSON path of ``key`` inside the object at ``path``."""
    if _IDENTIFIER.fullmatch(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key)}]"


def check_object(value: Any, path: str, spec: ObjectSpec, report: f.Report) -> bool:
    """Check the keys and values of one object, and return False for a non-object."""
    if not isinstance(value, dict):
        report(path, f"{spec.name} must be an object, not {f.type_name(value)}")
        return False
    for key in value:
        if key not in spec.fields:
            report(child_path(path, key), f"is not a known field of {spec.name}")
    for key in spec.required:
        if key not in value:
            report(child_path(path, key), f"is required in {spec.name}")
    for key, check in spec.fields.items():
        if key in value:
            check(value[key], child_path(path, key), report)
    return True


def _array_of(spec: ObjectSpec, *, min_items: int = 0) -> f.Check:
    def check(value: Any, path: str, report: f.Report) -> None:
        if not isinstance(value, list):
            report(path, f"must be an array, not {f.type_name(value)}")
            return
        if len(value) < min_items:
            report(path, f"must contain at least {min_items} {spec.name}")
        for index, item in enumerate(value):
            check_object(item, f"{path}[{index}]", spec, report)

    return check


def _object(spec: ObjectSpec) -> f.Check:
    def check(value: Any, path: str, report: f.Report) -> None:
        check_object(value, path, spec, report)

    return check


def _nullable(check: f.Check) -> f.Check:
    def check_or_null(value: Any, path: str, report: f.Report) -> None:
        if value is not None:
            check(value, path, report)

    return check_or_null


_ADDRESS = ObjectSpec(
    name="customer_shipping_address",
    fields={
        "address1": f.check_nonempty_string,
        "address2": f.check_string,
        "city": f.check_nonempty_string,
        "state": f.check_string,
        "zip": f.check_string,
        "country_code": f.check_country,
    },
    required=("zip", "country_code"),
)
_ALIAS = ObjectSpec(
    name="alternate order id",
    fields={"type": f.check_nonempty_string, "id": f.check_nonempty_string},
    required=("type", "id"),
)


def _product_spec(version: ApiVersion) -> ObjectSpec:
    fields: dict[str, f.Check] = {
        "id": f.check_nonempty_string,
        "name": f.check_nonempty_string,
        "quantity": f.check_amount,
        "price": f.check_amount,
    }
    if version == "v2":
        fields["variant_id"] = f.check_nonempty_string
        fields["variant_name"] = f.check_nonempty_string
    return ObjectSpec("product", fields, ("id", "name", "quantity", "price"))


def _refund_spec(version: ApiVersion) -> ObjectSpec:
    fields: dict[str, f.Check] = {
        "product_id": f.check_nonempty_string,
        "quantity": f.check_amount,
        "refund_amount": f.check_amount,
        "refund_cost": f.check_amount,
        "refund_made_at": f.check_timestamp,
    }
    if version == "v2":
        fields["variant_id"] = f.check_nonempty_string
    return ObjectSpec("refund", fields, tuple(fields)[:5])


def _order_fields(version: ApiVersion) -> dict[str, f.Check]:
    fields: dict[str, f.Check] = {
        "order_id": f.check_nonempty_string,
        "customer_id": f.check_nonempty_string,
        "time_of_purchase": f.check_timestamp,
        "customer_email": f.check_email,
        "customer_phone_number": f.check_string,
        "hashed_customer_email": f.check_sha256,
        "hashed_customer_phone_number": f.check_sha256,
        "customer_name": f.check_string,
        "customer_ip_address": f.check_ip_address,
        "discount_codes": f.check_unique_strings,
        "discount_amount": f.check_amount,
        "order_tags": f.check_unique_strings,
        "tax": f.check_amount,
        "is_recurring_order": f.check_boolean,
        "currency": f.check_currency,
        "purchase_total": f.check_amount,
        "products": _array_of(_product_spec(version), min_items=1),
        "refunds": _array_of(_refund_spec(version)),
        "customer_shipping_address": _object(_ADDRESS),
    }
    if version == "v2":
        fields["shipping_cost"] = f.check_amount
        fields["alternate_order_ids"] = _array_of(_ALIAS)
    return fields


_REQUIRED_V1 = (
    "order_id",
    "customer_id",
    "time_of_purchase",
    "currency",
    "purchase_total",
    "tax",
    "products",
)
ORDER_SPECS: dict[ApiVersion, ObjectSpec] = {
    "v1": ObjectSpec("order", _order_fields("v1"), _REQUIRED_V1),
    "v2": ObjectSpec("order", _order_fields("v2"), (*_REQUIRED_V1, "shipping_cost")),
}
_NOT_NULLABLE = ("order_id", "customer_id", "time_of_purchase")
_NOT_PATCHABLE = ("products", "refunds")
PATCH_SPEC = ObjectSpec(
    name="order patch",
    fields={
        key: check if key in _NOT_NULLABLE else _nullable(check)
        for key, check in _order_fields("v2").items()
        if key not in _NOT_PATCHABLE
    },
    required=("order_id", "customer_id"),
)

"""pydantic models of the outgoing order, for Orders API v1 and v2.

The models follow the ``Order`` schemas of the v1 and v2 OpenAPI contracts,
with unknown keys forbidden at every level, plus what the contracts leave to
prose or get wrong:

- the money maximum is the number 1e14, not the string the contracts write;
- ``currency`` is checked against the ISO 4217 list and ``country_code``
  against ISO 3166-1 alpha-3, because the contracts' patterns are not
  anchored and accept other strings;
- timestamps must be ISO-8601 with an explicit offset;
- optional fields are absent, never ``null``.

Sign of money (our decision, since the contracts set no minimum): order
totals, tax and product prices may be negative, down to -1e14, because
exchanges and price adjustments produce negative amounts. Discounts, refunds,
shipping cost and quantities must be zero or more, because a negative value
there means a sign convention was mixed up in the mapping.

The models are TypedDicts validated through ``TypeAdapter``, which skips
building model instances on the per-order path. Validation returns the order
ready to write as JSON: keys in the order of the model, money as ``int`` or
``float`` (see :func:`json_number`), everything else as given.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Final, NotRequired

from annotated_types import MinLen
from pydantic import (
    ConfigDict,
    PlainValidator,
    StrictBool,
    StringConstraints,
    with_config,
)
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from connector.transform.countries import ALPHA3_TO_ALPHA2
from connector.validate.currencies import CURRENCIES

MAX_AMOUNT: Final = Decimal(10) ** 14
_ZERO: Final = Decimal(0)

_TIMESTAMP = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _check_number(value: Any, low: Decimal) -> bool:
    """Tell whether ``value`` is an int, float or Decimal in ``[low, 1e14]``."""
    kind = type(value)
    if kind is Decimal:
        return bool(value.is_finite() and low <= value <= MAX_AMOUNT)
    if kind is int or kind is float:
        return bool(low <= value <= MAX_AMOUNT)
    return False


def json_number(value: Any) -> Any:
    """Return a Decimal as the number written on the wire; other values as they are.

    A whole amount is written as an integer. Any other goes through float,
    whose shortest repr gives back the same decimal text for amounts up to
    15 significant digits.
    """
    if type(value) is not Decimal:
        return value
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _money(value: Any) -> Any:
    if not _check_number(value, -MAX_AMOUNT):
        raise PydanticCustomError(
            "money", "must be a number (not text or a boolean) between -1e14 and 1e14"
        )
    return json_number(value)


def _non_negative(value: Any) -> Any:
    if not _check_number(value, _ZERO):
        raise PydanticCustomError(
            "amount", "must be a number (not text or a boolean) between 0 and 1e14"
        )
    return json_number(value)


def _timestamp(value: Any) -> Any:
    if type(value) is not str or not _TIMESTAMP.match(value):
        raise PydanticCustomError(
            "timestamp_format",
            "must be an ISO-8601 timestamp with an offset, such as "
            "2024-09-01T15:01:00-04:00",
        )
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError(
            "timestamp_value", "is not a valid calendar date and time"
        ) from None
    return value


def _currency(value: Any) -> Any:
    if type(value) is not str or value not in CURRENCIES:
        raise PydanticCustomError(
            "currency_code",
            "must be an ISO 4217 currency code in upper case, such as USD",
        )
    return value


def _country(value: Any) -> Any:
    if type(value) is not str or value not in ALPHA3_TO_ALPHA2:
        raise PydanticCustomError(
            "country_code",
            "must be an ISO 3166-1 alpha-3 country code in upper case, such as USA",
        )
    return value


def _email(value: Any) -> Any:
    if type(value) is not str or not _EMAIL.match(value):
        raise PydanticCustomError("email_format", "must be an email address")
    return value


def _ip_address(value: Any) -> Any:
    try:
        ipaddress.ip_address(value if type(value) is str else "")
    except ValueError:
        raise PydanticCustomError(
            "ip_format", "must be an IPv4 or IPv6 address"
        ) from None
    return value


def _sha256(value: Any) -> Any:
    if type(value) is not str or not _SHA256.match(value):
        raise PydanticCustomError(
            "sha256_format", "must be a SHA-256 digest: 64 lowercase hex characters"
        )
    return value


Text = Annotated[str, StringConstraints(strict=True, min_length=1)]
Money = Annotated[Any, PlainValidator(_money)]
NonNegative = Annotated[Any, PlainValidator(_non_negative)]
Timestamp = Annotated[str, PlainValidator(_timestamp)]
Currency = Annotated[str, PlainValidator(_currency)]
Country = Annotated[str, PlainValidator(_country)]
Email = Annotated[str, PlainValidator(_email)]
IpAddress = Annotated[str, PlainValidator(_ip_address)]
Sha256 = Annotated[str, PlainValidator(_sha256)]

_CLOSED = ConfigDict(extra="forbid")


@with_config(_CLOSED)
class ProductV1(TypedDict):
    """One product line: unit price and quantity sold."""

    id: Text
    name: Text
    quantity: NonNegative
    price: Money


@with_config(_CLOSED)
class ProductV2(ProductV1):
    """A v2 product line, which may name its variant."""

    variant_id: NotRequired[Text]
    variant_name: NotRequired[Text]


@with_config(_CLOSED)
class RefundV1(TypedDict):
    """One refunded product."""

    product_id: Text
    quantity: NonNegative
    refund_amount: NonNegative
    refund_cost: NonNegative
    refund_made_at: Timestamp


@with_config(_CLOSED)
class RefundV2(RefundV1):
    """A v2 refund, which may name the product variant."""

    variant_id: NotRequired[Text]


@with_config(_CLOSED)
class Address(TypedDict):
    """The customer's shipping address, in which zip and country_code are required."""

    address1: NotRequired[Text]
    address2: NotRequired[Text]
    city: NotRequired[Text]
    state: NotRequired[Text]
    zip: Text
    country_code: Country


@with_config(_CLOSED)
class AlternateOrderId(TypedDict):
    """Another id of the same order, such as a checkout token."""

    type: Text
    id: Text


@with_config(_CLOSED)
class OrderV1(TypedDict):
    """An order as ``POST /v1/orders`` accepts it."""

    order_id: Text
    customer_id: Text
    time_of_purchase: Timestamp
    currency: Currency
    purchase_total: Money
    tax: Money
    products: Annotated[list[ProductV1], MinLen(1)]
    customer_email: NotRequired[Email]
    customer_phone_number: NotRequired[Text]
    hashed_customer_email: NotRequired[Sha256]
    hashed_customer_phone_number: NotRequired[Sha256]
    customer_name: NotRequired[Text]
    customer_ip_address: NotRequired[IpAddress]
    discount_codes: NotRequired[list[Text]]
    discount_amount: NotRequired[NonNegative]
    order_tags: NotRequired[list[Text]]
    is_recurring_order: NotRequired[StrictBool]
    refunds: NotRequired[list[RefundV1]]
    customer_shipping_address: NotRequired[Address]


@with_config(_CLOSED)
class OrderV2(TypedDict):
    """An order as ``POST /v2/orders`` accepts it."""

    order_id: Text
    customer_id: Text
    time_of_purchase: Timestamp
    currency: Currency
    purchase_total: Money
    tax: Money
    shipping_cost: NonNegative
    products: Annotated[list[ProductV2], MinLen(1)]
    customer_email: NotRequired[Email]
    customer_phone_number: NotRequired[Text]
    hashed_customer_email: NotRequired[Sha256]
    hashed_customer_phone_number: NotRequired[Sha256]
    customer_name: NotRequired[Text]
    customer_ip_address: NotRequired[IpAddress]
    discount_codes: NotRequired[list[Text]]
    discount_amount: NotRequired[NonNegative]
    order_tags: NotRequired[list[Text]]
    is_recurring_order: NotRequired[StrictBool]
    refunds: NotRequired[list[RefundV2]]
    customer_shipping_address: NotRequired[Address]
    alternate_order_ids: NotRequired[list[AlternateOrderId]]


#: Keys that only API v2 accepts, as JSON paths with ``[*]`` for any item.
V2_ONLY_PATHS: Final = frozenset(
    {
        "$.shipping_cost",
        "$.alternate_order_ids",
        "$.products[*].variant_id",
        "$.products[*].variant_name",
        "$.refunds[*].variant_id",
    }
)

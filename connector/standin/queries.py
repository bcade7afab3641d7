"""Reading stored orders back by purchase date, as GET /orders does."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

#: Defaults of ``start_date`` and ``end_date`` in Northbeam's OpenAPI files.
DEFAULT_START = date(2001, 1, 1)
DEFAULT_END = date(9999, 1, 1)

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date_range(query: Mapping[str, list[str]]) -> tuple[date, date]:
    """Read ``start_date`` and ``end_date``; a missing one takes its default.

    Raises:
        ValueError: a date is not written YYYY-MM-DD or is not a real date.
    """
    return (
        _parse_date(query, "start_date", DEFAULT_START),
        _parse_date(query, "end_date", DEFAULT_END),
    )


def _parse_date(query: Mapping[str, list[str]], name: str, default: date) -> date:
    values = query.get(name)
    if not values:
        return default
    text = values[0]
    if _DATE.fullmatch(text) is None:
        raise ValueError(f"{name} must be a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a real calendar date") from None


def orders_in_range(
    orders: Iterable[dict[str, Any]], start: date, end: date
) -> list[dict[str, Any]]:
    """Return orders purchased from ``start`` to ``end``, both inclusive.

    The purchase date is the date written in ``time_of_purchase``, in the
    offset the order was sent with. Orders are sorted by that timestamp
    text, then by order id.
    """
    found = [
        order
        for order in orders
        if start <= date.fromisoformat(order["time_of_purchase"][:10]) <= end
    ]
    return sorted(found, key=lambda o: (o["time_of_purchase"], o["order_id"]))

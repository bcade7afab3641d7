"""Key values converted to the key column's type before they are bound.

An order key read from an integer column must find child rows whose key
column is text, and keys kept in state as text must find integer orders
again. Comparing mismatched types fails on PostgreSQL and DuckDB, so keys
are converted here instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from connector.source.columns import value_kind


@dataclass(frozen=True)
class PreparedKeys:
    """Distinct keys ready to bind, and whether to compare as text."""

    values: list[Any]
    compare_text: bool


def prepare_keys(keys: Sequence[Any], type_name: str, *, as_text: bool) -> PreparedKeys:
    """Convert ``keys`` for a key column of type ``type_name``.

    NULL keys and duplicates are dropped. A key that cannot be converted
    (text that is not a number, for an integer column) matches no row and
    is dropped too. Text keys for a column of another type (UUID, date)
    are compared against the column cast to VARCHAR.
    """
    kind = value_kind(type_name)
    converted = (_convert(key, kind) for key in keys if key is not None)
    values = list(dict.fromkeys(value for value in converted if value is not None))
    compare_text = as_text and kind is None
    if compare_text:
        values = list(dict.fromkeys(str(value) for value in values))
    return PreparedKeys(values, compare_text)


def _convert(key: Any, kind: str | None) -> Any:
    if kind == "text":
        return key if isinstance(key, str) else str(key)
    if kind == "integer":
        return _to_int(key)
    if kind == "decimal":
        return _to_decimal(key)
    return key


def _to_int(key: Any) -> int | None:
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return key
    number = _to_decimal(key)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


def _to_decimal(key: Any) -> Decimal | None:
    if isinstance(key, Decimal):
        return key if key.is_finite() else None
    try:
        number = Decimal(str(key).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None

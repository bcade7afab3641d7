"""Type-tagged JSON form of cursor values, and the lookback below a mark.

A cursor value is whatever the warehouse returned for the cursor column: an
aware or naive ``datetime``, a ``date``, an ``int`` or a ``Decimal``. State
keeps it with a type tag so that it is bound back to the next query with the
same Python type, which the warehouse compares exactly as before::

    {"type": "timestamp_tz", "value": "2024-11-03T01:30:00-05:00",
     "zone": "America/New_York"}
    {"type": "timestamp", "value": "2024-11-03T01:30:00"}
    {"type": "date", "value": "2024-11-03"}
    {"type": "integer", "value": "9007199254740993"}
    {"type": "decimal", "value": "1700000000.250"}

Integers are written as strings because JSON readers other than Python
round 64-bit integers to doubles.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connector.errors import StateError

_SECONDS_PER_DAY = 86_400


def encode_cursor(value: Any) -> dict[str, str] | None:
    """Encode a cursor value as a type-tagged dict of strings, and None as None.

    Raises:
        StateError: the value is not a supported cursor type, or is a
            non-finite Decimal.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return _encode_datetime(value)
    if isinstance(value, date):
        return {"type": "date", "value": value.isoformat()}
    if isinstance(value, bool):
        raise _unsupported(value)
    if isinstance(value, int):
        return {"type": "integer", "value": str(value)}
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise StateError(
                f"cursor value {value} is not a finite number. Check the "
                "cursor column for NaN or infinity"
            )
        return {"type": "decimal", "value": str(value)}
    raise _unsupported(value)


def decode_cursor(data: dict[str, Any] | None) -> Any:
    """Decode the output of :func:`encode_cursor` back to the same value.

    Raises:
        StateError: the dict has an unknown type tag or an unreadable value.
    """
    if data is None:
        return None
    kind = data.get("type")
    text = data.get("value")
    try:
        return _decode(kind, text, data.get("zone"))
    except (TypeError, ValueError, InvalidOperation, ZoneInfoNotFoundError) as exc:
        raise StateError(
            f"stored cursor value of type {kind!r} is unreadable ({exc}). "
            "Set the high-water mark again or reset the sync"
        ) from exc


def dump_cursor(value: Any) -> str | None:
    """Encode a cursor value as JSON text for a state column."""
    encoded = encode_cursor(value)
    return None if encoded is None else json.dumps(encoded, sort_keys=True)


def load_cursor(text: str | None) -> Any:
    """Decode JSON text written by :func:`dump_cursor`."""
    if text is None:
        return None
    return decode_cursor(_parse_json(text))


def dump_cursor_map(values: dict[str, Any]) -> str:
    """Encode a dict of child name to cursor value as JSON text."""
    encoded = {name: encode_cursor(value) for name, value in values.items()}
    return json.dumps(encoded, sort_keys=True)


def load_cursor_map(text: str | None) -> dict[str, Any]:
    """Decode JSON text written by :func:`dump_cursor_map`."""
    if not text:
        return {}
    raw = _parse_json(text)
    if not isinstance(raw, dict):
        raise StateError(
            "stored child marks are not a JSON object. Set the child marks "
            "again or reset the sync"
        )
    return {name: decode_cursor(item) for name, item in raw.items()}


def describe_cursor(value: Any) -> str:
    """Format a cursor value for people: ISO-8601 for dates and times, else str()."""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def lower_bound(mark: Any, lookback: float) -> Any:
    """Return the inclusive lower bound of the next read: ``mark`` minus ``lookback``.

    ``lookback`` is in seconds for datetimes. Aware datetimes step back in
    elapsed time, so a lookback across a DST change is exact, and keep their
    time zone. For dates the seconds are rounded down to whole days, so a
    lookback below one day returns the mark itself. That day is still read
    again because the read compares with ``>=``. For integers and decimals
    ``lookback`` is in cursor units, rounded down for integers. A ``None``
    mark, or a lookback reaching before year 1, returns ``None`` (read
    everything).

    Raises:
        ValueError: ``lookback`` is negative or not finite.
    """
    if not (math.isfinite(lookback) and lookback >= 0):
        raise ValueError(f"lookback must be a finite number >= 0, got {lookback}")
    if mark is None or lookback == 0:
        return mark
    try:
        return _subtract(mark, lookback)
    except OverflowError:
        return None


def _subtract(mark: Any, lookback: float) -> Any:
    if isinstance(mark, datetime):
        return _datetime_minus(mark, timedelta(seconds=lookback))
    if isinstance(mark, date):
        return mark - timedelta(days=math.floor(lookback / _SECONDS_PER_DAY))
    if isinstance(mark, Decimal):
        return mark - Decimal(repr(lookback))
    if isinstance(mark, int) and not isinstance(mark, bool):
        return mark - math.floor(lookback)
    raise _unsupported(mark)


def _encode_datetime(value: datetime) -> dict[str, str]:
    if value.tzinfo is None or value.utcoffset() is None:
        return {"type": "timestamp", "value": value.isoformat()}
    encoded = {"type": "timestamp_tz", "value": value.isoformat()}
    if isinstance(value.tzinfo, ZoneInfo):
        encoded["zone"] = value.tzinfo.key
    return encoded


def _decode(kind: Any, text: Any, zone: Any) -> Any:
    if not isinstance(text, str):
        raise TypeError("value is not a string")
    if kind == "timestamp_tz":
        fixed = datetime.fromisoformat(text)
        if fixed.utcoffset() is None:
            raise ValueError("timestamp_tz value has no UTC offset")
        # astimezone picks the right fold for an ambiguous wall time.
        return fixed.astimezone(ZoneInfo(zone)) if zone else fixed
    if kind == "timestamp":
        return datetime.fromisoformat(text)
    if kind == "date":
        return date.fromisoformat(text)
    if kind == "integer":
        return int(text)
    if kind == "decimal":
        return Decimal(text)
    raise ValueError(f"unknown cursor type tag {kind!r}")


def _datetime_minus(mark: datetime, delta: timedelta) -> datetime:
    if mark.tzinfo is None or mark.utcoffset() is None:
        return mark - delta
    # Arithmetic on an aware datetime moves the wall clock, not elapsed time.
    return (mark.astimezone(UTC) - delta).astimezone(mark.tzinfo)


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(
            f"stored cursor is not valid JSON ({exc.msg}). Set the "
            "high-water mark again or reset the sync"
        ) from exc


def _unsupported(value: Any) -> StateError:
    return StateError(
        f"cursor values of type {type(value).__name__} are not supported. "
        "Use a timestamp, date, integer or decimal column as cursor"
    )

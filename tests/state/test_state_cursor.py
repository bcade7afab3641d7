"""Cursor values survive storage with their exact type, and the lookback."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connector.errors import StateError
from connector.state.cursor import (
    decode_cursor,
    describe_cursor,
    dump_cursor,
    encode_cursor,
    load_cursor,
    load_cursor_map,
    lower_bound,
)

NEW_YORK = ZoneInfo("America/New_York")

CURSORS = {
    "aware-utc": datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC),
    "aware-fixed-offset": datetime(
        2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))
    ),
    "aware-zone-before-fall-back": datetime(2024, 11, 3, 1, 30, tzinfo=NEW_YORK),
    "aware-zone-after-fall-back": datetime(2024, 11, 3, 1, 30, tzinfo=NEW_YORK, fold=1),
    "aware-zone-after-spring-forward": datetime(2024, 3, 10, 3, 0, tzinfo=NEW_YORK),
    "naive": datetime(2024, 11, 3, 1, 30, 0, 5),
    "date": date(2024, 2, 29),
    "int": 1_700_000_000,
    "int-64-bit": 2**63 - 1,
    "int-negative": -42,
    "decimal": Decimal("1700000000.250"),
    "decimal-exponent": Decimal("1E+2"),
    "decimal-small": Decimal("-0.000001"),
}


@pytest.mark.parametrize("value", CURSORS.values(), ids=CURSORS.keys())
def test_cursor_round_trips_exactly(value: Any) -> None:
    text = dump_cursor(value)
    assert text is not None
    decoded = load_cursor(text)

    assert decoded == value
    assert type(decoded) is type(value)
    assert str(decoded) == str(value)
    if isinstance(value, datetime):
        assert decoded.utcoffset() == value.utcoffset()
        assert decoded.tzinfo == value.tzinfo
        assert decoded.fold == value.fold


def test_cursor_fall_back_keeps_both_instants() -> None:
    """The two 01:30 of a DST fall-back decode to different instants."""
    first = load_cursor(dump_cursor(CURSORS["aware-zone-before-fall-back"]))
    second = load_cursor(dump_cursor(CURSORS["aware-zone-after-fall-back"]))

    assert second.astimezone(UTC) - first.astimezone(UTC) == timedelta(hours=1)


def test_cursor_naive_stays_naive() -> None:
    decoded = decode_cursor(encode_cursor(CURSORS["naive"]))

    assert decoded.tzinfo is None


def test_cursor_encoding_is_tagged_json() -> None:
    assert encode_cursor(date(2024, 2, 29)) == {"type": "date", "value": "2024-02-29"}
    assert encode_cursor(2**63 - 1) == {
        "type": "integer",
        "value": "9223372036854775807",
    }
    encoded = encode_cursor(CURSORS["aware-zone-after-fall-back"])
    assert encoded == {
        "type": "timestamp_tz",
        "value": "2024-11-03T01:30:00-05:00",
        "zone": "America/New_York",
    }
    assert json.loads(json.dumps(encoded)) == encoded


def test_cursor_none_stays_none() -> None:
    assert encode_cursor(None) is None
    assert decode_cursor(None) is None
    assert dump_cursor(None) is None
    assert load_cursor(None) is None


@pytest.mark.parametrize(
    "value", [True, 1.5, "2024-01-01", Decimal("NaN"), Decimal("Infinity")]
)
def test_cursor_unsupported_value_raises(value: Any) -> None:
    with pytest.raises(StateError, match="cursor"):
        encode_cursor(value)


@pytest.mark.parametrize(
    "data",
    [
        {"type": "float", "value": "1.5"},
        {"type": "date", "value": "2024-02-30"},
        {"type": "integer", "value": 5},
        {"type": "timestamp_tz", "value": "2024-01-01T00:00:00"},
        {
            "type": "timestamp_tz",
            "value": "2024-01-01T00:00:00+00:00",
            "zone": "Mars/Base",
        },
    ],
)
def test_cursor_unreadable_value_raises(data: dict[str, Any]) -> None:
    with pytest.raises(StateError, match="reset the sync"):
        decode_cursor(data)


def test_cursor_invalid_json_raises() -> None:
    with pytest.raises(StateError, match="not valid JSON"):
        load_cursor("{not json")


def test_cursor_map_not_object_raises() -> None:
    with pytest.raises(StateError, match="not a JSON object"):
        load_cursor_map("[1, 2]")


def test_lower_bound_aware_steps_back_elapsed_time() -> None:
    """One hour before 03:30 EDT on the spring-forward day is 01:30 EST."""
    mark = datetime(2024, 3, 10, 3, 30, tzinfo=NEW_YORK)

    bound = lower_bound(mark, 3600)

    assert bound == datetime(2024, 3, 10, 1, 30, tzinfo=NEW_YORK)
    assert bound.tzinfo is NEW_YORK
    assert mark.astimezone(UTC) - bound.astimezone(UTC) == timedelta(hours=1)


def test_lower_bound_naive_subtracts_seconds() -> None:
    mark = datetime(2024, 1, 1, 0, 0, 30)

    assert lower_bound(mark, 90.5) == datetime(2023, 12, 31, 23, 58, 59, 500000)


@pytest.mark.parametrize(
    ("seconds", "days"),
    [(0, 0), (1, 0), (86_399, 0), (86_400, 1), (3 * 86_400 + 5, 3)],
)
def test_lower_bound_date_rounds_down_to_days(seconds: float, days: int) -> None:
    mark = date(2024, 3, 1)

    assert lower_bound(mark, seconds) == mark - timedelta(days=days)


def test_lower_bound_integer_subtracts_whole_units() -> None:
    assert lower_bound(1000, 10) == 990
    assert lower_bound(1000, 2.7) == 998
    assert type(lower_bound(1000, 2.7)) is int


def test_lower_bound_decimal_subtracts_units() -> None:
    assert lower_bound(Decimal("10.25"), 1.5) == Decimal("8.75")


def test_lower_bound_zero_returns_mark() -> None:
    for value in CURSORS.values():
        assert lower_bound(value, 0) is value


def test_lower_bound_none_mark_reads_everything() -> None:
    assert lower_bound(None, 3600) is None


def test_lower_bound_before_year_one_reads_everything() -> None:
    assert lower_bound(datetime(2, 1, 1, tzinfo=UTC), 10 * 365 * 86_400) is None
    assert lower_bound(date(2, 1, 1), 10 * 365 * 86_400) is None


@pytest.mark.parametrize("lookback", [-1, float("inf"), float("nan")])
def test_lower_bound_invalid_lookback_raises(lookback: float) -> None:
    with pytest.raises(ValueError, match="lookback"):
        lower_bound(10, lookback)


def test_describe_cursor_formats_for_people() -> None:
    assert (
        describe_cursor(datetime(2024, 5, 1, 12, 0, tzinfo=UTC))
        == "2024-05-01T12:00:00+00:00"
    )
    assert describe_cursor(date(2024, 5, 1)) == "2024-05-01"
    assert describe_cursor(Decimal("1.50")) == "1.50"
    assert describe_cursor(42) == "42"

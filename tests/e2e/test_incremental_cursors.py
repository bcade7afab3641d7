"""Cursor types: naive and zoned timestamps, dates, integers, and NULL cursors.

The mappings of the zoned, date and integer tests give line items and
refunds no cursor, so only the order's own cursor decides what is read.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from incremental_shop import (
    Shop,
    load_state,
    minutes,
    stale_orders,
    write_config,
    write_mapping,
)

from connector import api, log
from connector.standin import StandIn

NEW_YORK_DAYLIGHT = timezone(timedelta(hours=-4))
NEW_YORK_STANDARD = timezone(timedelta(hours=-5))
TOKYO = timezone(timedelta(hours=9))


@pytest.fixture
def tokyo_session() -> Iterator[None]:
    """Run DuckDB sessions in Asia/Tokyo; DuckDB takes its zone from TZ."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def _sync_ids(config: Path, standin: StandIn) -> set[str]:
    """Run a sync and return the ids of the orders it stored."""
    before = standin.write_counts()
    api.sync(config)
    after = standin.write_counts()
    return {key for key, count in after.items() if count != before.get(key)}


def test_naive_timestamp_cursor(
    tmp_path: Path, api_env: dict[str, str], standin: StandIn
) -> None:
    shop = Shop(tmp_path, "timestamp")
    with shop.session():
        for number in range(3):
            shop.add_order(f"o{number}", minutes(number))
    write_mapping(tmp_path)
    config = write_config(tmp_path, standin.url)
    assert _sync_ids(config, standin) == {"o0", "o1", "o2"}

    with shop.session():
        shop.add_order("tie", minutes(2))
        shop.add_order("behind", minutes(1))
        shop.add_order("after", minutes(3))

    assert _sync_ids(config, standin) == {"tie", "after"}
    assert load_state(tmp_path).mark == minutes(3)


def test_timestamptz_cursor_across_dst(
    tmp_path: Path, api_env: dict[str, str], standin: StandIn, tokyo_session: None
) -> None:
    """Zoned cursors compare as instants, whatever the session zone and offsets.

    On 2024-11-03 New York's clocks went back from 02:00 EDT to 01:00 EST,
    so 01:10 EST is later than 01:50 EDT.
    """
    shop = Shop(tmp_path, "timestamptz")
    with shop.session():
        shop.add_order("a", datetime(2024, 11, 3, 0, 30, tzinfo=NEW_YORK_DAYLIGHT))
        shop.add_order("b", datetime(2024, 11, 3, 1, 30, tzinfo=NEW_YORK_DAYLIGHT))
        shop.add_order("c", datetime(2024, 11, 3, 1, 10, tzinfo=NEW_YORK_STANDARD))
    write_mapping(tmp_path, child_cursors=False)
    config = write_config(tmp_path, standin.url)
    assert _sync_ids(config, standin) == {"a", "b", "c"}
    mark = load_state(tmp_path).mark
    assert mark == datetime(2024, 11, 3, 6, 10, tzinfo=UTC)
    assert mark.utcoffset() == timedelta(hours=9)

    with shop.session():
        # The same instant as the mark, written with another offset.
        shop.add_order("tie", datetime(2024, 11, 3, 15, 10, tzinfo=TOKYO))
        # A later wall-clock time but an earlier instant: behind the mark.
        shop.add_order("behind", datetime(2024, 11, 3, 1, 50, tzinfo=NEW_YORK_DAYLIGHT))
        shop.add_order("after", datetime(2024, 11, 3, 1, 20, tzinfo=NEW_YORK_STANDARD))
    assert _sync_ids(config, standin) == {"tie", "after"}

    # A lookback of 30 minutes is 30 elapsed minutes, across the change.
    config = write_config(tmp_path, standin.url, lookback=1800)
    assert _sync_ids(config, standin) == {"behind"}


def test_date_cursor_keeps_boundary_day(
    tmp_path: Path, api_env: dict[str, str], standin: StandIn
) -> None:
    """An order added later on the day of the mark is read by the next run."""
    shop = Shop(tmp_path, "date")
    with shop.session():
        shop.add_order("d1", date(2024, 3, 1))
        shop.add_order("d2", date(2024, 3, 2))
    write_mapping(tmp_path, child_cursors=False)
    config = write_config(tmp_path, standin.url)
    assert _sync_ids(config, standin) == {"d1", "d2"}
    assert load_state(tmp_path).mark == date(2024, 3, 2)

    with shop.session():
        shop.add_order("same-day", date(2024, 3, 2))
        shop.add_order("day-before", date(2024, 3, 1))
        shop.add_order("next-day", date(2024, 3, 3))

    assert _sync_ids(config, standin) == {"same-day", "next-day"}
    assert load_state(tmp_path).mark == date(2024, 3, 3)


def test_integer_cursor(
    tmp_path: Path, api_env: dict[str, str], standin: StandIn
) -> None:
    """An integer cursor (a version or epoch seconds) moves like a timestamp."""
    epoch = 1_709_294_400
    shop = Shop(tmp_path, "integer")
    with shop.session():
        for number in range(3):
            shop.add_order(f"o{number}", epoch + number)
    write_mapping(tmp_path, child_cursors=False)
    config = write_config(tmp_path, standin.url)
    assert _sync_ids(config, standin) == {"o0", "o1", "o2"}

    with shop.session():
        shop.add_order("tie", epoch + 2)
        shop.add_order("behind", epoch + 1)
        shop.update_order("o0", epoch + 10, total_cents=4200)

    assert _sync_ids(config, standin) == {"tie", "o0"}
    assert load_state(tmp_path).mark == epoch + 10
    assert standin.orders()["o0"]["purchase_total"] == 42


def test_null_cursor_uses_fallback(
    tmp_path: Path, api_env: dict[str, str], standin: StandIn
) -> None:
    shop = Shop(tmp_path)
    with shop.session():
        shop.add_order("dated", minutes(1))
        shop.add_order("fallback", None, created_at=minutes(5))
    write_mapping(tmp_path, cursor_fallback="created_at")
    config = write_config(tmp_path, standin.url)

    first = api.sync(config)

    assert first.orders_sent == 2
    assert first.null_cursor == 0
    assert load_state(tmp_path).mark == minutes(5)


def test_null_cursor_delivered_and_counted(
    tmp_path: Path,
    api_env: dict[str, str],
    standin: StandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without a fallback, NULL-cursor orders are sent, counted and warned about."""
    log.reset()
    shop = Shop(tmp_path)
    with shop.session():
        shop.add_order("dated", minutes(1))
        shop.add_order("undated", None)
    write_mapping(tmp_path)
    config = write_config(tmp_path, standin.url)

    with caplog.at_level(logging.WARNING, logger="connector"):
        first = api.sync(config)

    assert first.orders_sent == 2
    assert first.null_cursor == 1
    assert "undated" in standin.orders()
    assert "NULL cursor column updated_at" in caplog.text
    assert load_state(tmp_path).mark == minutes(1)

    second = api.sync(config)
    assert second.null_cursor == 1
    assert second.orders_sent == 0
    assert second.unchanged == 2

    shop.update_order("undated", None, total_cents=7700)
    third = api.sync(config)
    assert third.orders_sent == 1
    assert stale_orders(shop, standin.orders()) == []

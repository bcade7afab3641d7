"""DuckDB specifics: wide integers, nested types, in-memory databases, zones."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa
from source_backends import Backend

from connector.config import WarehouseSettings
from connector.errors import ConfigError, SourceError
from connector.source import CursorWindow, Relation, SourceSpec, Warehouse

HUGE = 170141183460469231731687303715884105727

# Script that opens a DuckDB file for writing, prints 'open' and keeps it open.
HOLD_FILE = (
    "import sys, time, duckdb; con = duckdb.connect(sys.argv[1]); "
    "print('open', flush=True); time.sleep(60)"
)


def test_hugeint_and_nested_types(duckdb_backend: Backend) -> None:
    duckdb_backend.run(
        "CREATE TABLE orders AS SELECT "
        f"CAST('{HUGE}' AS HUGEINT) AS id, "
        "CAST(9007199254740993 AS BIGINT) AS big, "
        "CAST(12.345 AS DECIMAL(38, 3)) AS amount, "
        "[{'sku': 'A', 'qty': 2}] AS items, "
        "{'city': 'Oslo'} AS address, "
        'CAST(\'{"codes": ["X"]}\' AS JSON) AS doc'
    )
    source = SourceSpec(Relation(table="orders"), key="id")

    with duckdb_backend.connect() as warehouse:
        rows = warehouse.rows_by_keys(source, [str(HUGE)], as_text=True)
        columns = warehouse.describe(source)

    row = rows[0]
    assert row["id"] == HUGE
    assert row["big"] == 9007199254740993
    assert row["amount"] == Decimal("12.345")
    assert row["items"] == [{"sku": "A", "qty": 2}]
    assert row["address"] == {"city": "Oslo"}
    assert row["doc"] == {"codes": ["X"]}
    assert columns["id"] == "HUGEINT"
    assert columns["amount"] == "DECIMAL(38,3)"


def _seed_numbers(warehouse: Warehouse, count: int) -> None:
    with warehouse.engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE orders AS SELECT n AS id, "
                "TIMESTAMP '2024-01-01' + to_minutes(n) AS at "
                f"FROM range({count}) AS t(n)"
            )
        )


@pytest.mark.parametrize("where", ["memory", "file"])
def test_child_query_while_streaming(where: str, tmp_path: Path) -> None:
    """A rows_by_keys call in the middle of a stream leaves the stream intact."""
    url = "duckdb:///:memory:" if where == "memory" else "duckdb:///orders.duckdb"
    if where == "file":
        duckdb.connect(str(tmp_path / "orders.duckdb")).close()
    source = SourceSpec(Relation(table="orders"), key="id", cursor="at")
    seen: list[Any] = []

    with Warehouse.connect(WarehouseSettings(url=url), tmp_path) as warehouse:
        _seed_numbers(warehouse, 250)
        for rows in warehouse.stream_rows(source, CursorWindow(), 100):
            children = warehouse.rows_by_keys(source, [row["id"] for row in rows])
            assert len(children) == len(rows)
            seen.extend(row["id"] for row in rows)

    assert seen == list(range(250))


def test_relative_path_reads_against_base_dir(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    settings = WarehouseSettings(url="duckdb:///data/orders.duckdb")
    (folder / "data").mkdir()
    duckdb.connect(str(folder / "data" / "orders.duckdb")).close()

    with Warehouse.connect(settings, folder) as warehouse:
        _seed_numbers(warehouse, 3)
        rows = warehouse.rows_by_keys(
            SourceSpec(Relation(table="orders"), key="id"), [0, 1, 2]
        )

    assert len(rows) == 3


def test_missing_duckdb_file_not_created(tmp_path: Path) -> None:
    """A mistyped path fails on the path instead of creating an empty file."""
    settings = WarehouseSettings(url="duckdb:///shp.duckdb")

    with pytest.raises(ConfigError) as caught:
        Warehouse.connect(settings, tmp_path)

    assert "shp.duckdb does not exist" in str(caught.value)
    assert not (tmp_path / "shp.duckdb").exists()


def test_bad_setting_hint_names_url(tmp_path: Path) -> None:
    duckdb.connect(str(tmp_path / "shop.duckdb")).close()
    settings = WarehouseSettings(url="duckdb:///shop.duckdb?no_such_setting=1")

    with pytest.raises(SourceError) as caught:
        Warehouse.connect(settings, tmp_path)

    message = str(caught.value)
    assert "no_such_setting" in message
    assert "settings after '?' in warehouse.url" in message
    assert "password" not in message


def test_file_locked_by_another_process_says_so(tmp_path: Path) -> None:
    path = tmp_path / "shop.duckdb"
    duckdb.connect(str(path)).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_FILE, str(path)], stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"open\n"
        with pytest.raises(SourceError) as caught:
            Warehouse.connect(WarehouseSettings(url="duckdb:///shop.duckdb"), tmp_path)
    finally:
        holder.kill()
        holder.communicate()

    message = str(caught.value)
    assert f"Another process has {path} open" in message
    assert "Run again once it has finished" in message
    assert caught.value.retryable is True


def test_file_open_in_this_process_with_other_settings(tmp_path: Path) -> None:
    path = tmp_path / "shop.duckdb"
    own = duckdb.connect(str(path), config={"threads": 1})

    try:
        with pytest.raises(SourceError) as caught:
            Warehouse.connect(WarehouseSettings(url="duckdb:///shop.duckdb"), tmp_path)
    finally:
        own.close()

    assert f"This process already has {path} open" in str(caught.value)


def _set_zone(warehouse: Warehouse, zone: str) -> None:
    def on_checkout(dbapi_connection: Any, *_rest: Any) -> None:
        dbapi_connection.execute(f"SET TimeZone = '{zone}'")

    sa.event.listen(warehouse.engine, "checkout", on_checkout)


def test_timestamptz_window_odd_zone(duckdb_backend: Backend) -> None:
    start = datetime(2024, 11, 3, 5, 0, tzinfo=UTC)
    duckdb_backend.run(
        "CREATE TABLE orders (id BIGINT, placed_at TIMESTAMPTZ, naive TIMESTAMP)"
    )
    duckdb_backend.run(
        "INSERT INTO orders VALUES (:id, :at, :naive)",
        [
            {
                "id": n,
                "at": start + timedelta(hours=n),
                "naive": datetime(2024, 1, 1, n),
            }
            for n in range(5)
        ],
    )
    aware_spec = SourceSpec(Relation(table="orders"), key="id", cursor="placed_at")
    naive_spec = SourceSpec(Relation(table="orders"), key="id", cursor="naive")

    with duckdb_backend.connect() as warehouse:
        _set_zone(warehouse, "Pacific/Chatham")
        window = CursorWindow(lower=start + timedelta(hours=3))
        aware = [
            row
            for rows in warehouse.stream_rows(aware_spec, window, 10)
            for row in rows
        ]
        window = CursorWindow(
            lower=datetime(2024, 1, 1, 2), upper=datetime(2024, 1, 1, 4)
        )
        naive = [
            row
            for rows in warehouse.stream_rows(naive_spec, window, 10)
            for row in rows
        ]
        with warehouse.engine.connect() as conn:
            zone = conn.execute(sa.text("SELECT current_setting('TimeZone')")).scalar()

    assert zone == "Pacific/Chatham"
    assert [row["id"] for row in aware] == [3, 4]
    assert aware[0]["placed_at"] == start + timedelta(hours=3)
    assert aware[0]["placed_at"].utcoffset() == timedelta(hours=13, minutes=45)
    assert [row["naive"] for row in naive] == [
        datetime(2024, 1, 1, 2),
        datetime(2024, 1, 1, 3),
    ]


def test_invalid_url_message_hides_value(tmp_path: Path) -> None:
    settings = WarehouseSettings(url="not a url with s3cret")

    with pytest.raises(ConfigError) as caught:
        Warehouse.connect(settings, tmp_path)

    assert "warehouse.url" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_unknown_driver_is_a_config_error(tmp_path: Path) -> None:
    settings = WarehouseSettings(url="nosuchdb://user:pw@127.0.0.1/db")

    with pytest.raises(ConfigError, match="nosuchdb"):
        Warehouse.connect(settings, tmp_path)

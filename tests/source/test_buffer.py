"""DuckDB's buffer pool capped while the sync reads base tables of a file."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from connector.config import WarehouseSettings
from connector.errors import SourceError
from connector.source import CursorWindow, Relation, SourceSpec, Warehouse
from connector.source.buffer import may_cap

ORDERS = SourceSpec(Relation(table="orders"), key="order_id", cursor="updated_at")
LINES = SourceSpec(Relation(table="lines"), key="order_id")
LINES_VIEW = SourceSpec(Relation(table="lines_view"), key="order_id")

# 20,000 orders of about 19 KiB each: one page of 5,000 is about 95 MiB.
_WIDE = """
CREATE TABLE orders AS
SELECT i AS order_id,
       TIMESTAMP '2025-01-01' + to_seconds(i) AS updated_at,
       repeat(md5(i::VARCHAR), 600) AS payload
FROM range(20000) AS t(i)
"""


def _shop(tmp_path: Path, orders_sql: str | None = None) -> Path:
    path = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        orders_sql
        or "CREATE TABLE orders AS SELECT i AS order_id, "
        "TIMESTAMP '2025-01-01' + to_seconds(i) AS updated_at FROM range(100) t(i)"
    )
    con.execute("CREATE TABLE lines AS SELECT order_id, 1 AS qty FROM orders")
    con.execute("CREATE VIEW lines_view AS SELECT * FROM lines")
    con.close()
    return path


def _limit(warehouse: Warehouse) -> str:
    with warehouse.engine.connect() as conn:
        query = sa.text("SELECT current_setting('memory_limit')")
        return str(conn.execute(query).scalar_one())


def _connect(tmp_path: Path, query: str = "") -> Warehouse:
    settings = WarehouseSettings(url=f"duckdb:///shop.duckdb{query}")
    return Warehouse.connect(settings, tmp_path)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", True),
        ("?threads=1", True),
        ("?memory_limit=1GB", False),
        ("?MAX_MEMORY=1GB", False),
    ],
)
def test_may_cap_by_url(tmp_path: Path, query: str, expected: bool) -> None:
    path = _shop(tmp_path)

    assert may_cap(make_url(f"duckdb:///{path}{query}")) is expected


def test_may_cap_memory_and_missing_files(tmp_path: Path) -> None:
    assert not may_cap(make_url("duckdb:///:memory:"))
    assert not may_cap(make_url("duckdb://"))
    assert not may_cap(make_url(f"duckdb:///{tmp_path / 'none.duckdb'}"))


def test_cap_applies_to_base_tables(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _shop(tmp_path)
    caplog.set_level(logging.INFO, logger="connector.source.warehouse")

    with _connect(tmp_path) as warehouse:
        default = _limit(warehouse)
        with warehouse.bounded_buffer([ORDERS, LINES]) as capped:
            inside = _limit(warehouse)
            rows = [
                r
                for chunk in warehouse.stream_rows(ORDERS, CursorWindow(), 30)
                for r in chunk
            ]
        after = _limit(warehouse)

    assert capped is True
    assert inside == "30.5 MiB"
    assert after == default
    assert len(rows) == 100
    assert "capped at 32MB" in caplog.text


def test_cap_skips_views(tmp_path: Path) -> None:
    _shop(tmp_path)

    with _connect(tmp_path) as warehouse:
        default = _limit(warehouse)
        with warehouse.bounded_buffer([ORDERS, LINES_VIEW]) as capped:
            inside = _limit(warehouse)

    assert capped is False
    assert inside == default


def test_cap_skips_url_limit(tmp_path: Path) -> None:
    _shop(tmp_path)

    with (
        _connect(tmp_path, "?memory_limit=64MB") as warehouse,
        warehouse.bounded_buffer([ORDERS, LINES]) as capped,
    ):
        inside = _limit(warehouse)

    assert capped is False
    assert inside == "61.0 MiB"


def test_cap_lifted_for_wide_rows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _shop(tmp_path, _WIDE)
    caplog.set_level(logging.INFO, logger="connector.source.warehouse")

    with _connect(tmp_path) as warehouse:
        default = _limit(warehouse)
        with warehouse.bounded_buffer([ORDERS, LINES]) as capped:
            chunks = list(warehouse.stream_rows(ORDERS, CursorWindow(), 5000))
            during = _limit(warehouse)

    keys = [row["order_id"] for chunk in chunks for row in chunk]
    assert capped is True
    assert keys == list(range(20000))
    assert during == default
    assert "failed under the capped buffer pool" in caplog.text
    assert "OutOfMemoryException" in caplog.text


def test_out_of_memory_names_setting(tmp_path: Path) -> None:
    _shop(tmp_path, _WIDE)

    with (
        _connect(tmp_path, "?memory_limit=16MB") as warehouse,
        pytest.raises(SourceError) as caught,
    ):
        list(warehouse.stream_rows(ORDERS, CursorWindow(), 5000))

    assert "memory_limit in warehouse.url" in str(caught.value)


def test_cap_skips_limit_set_in_process(tmp_path: Path) -> None:
    path = _shop(tmp_path)
    # Another engine of this process on the same file shares its instance.
    own = sa.create_engine(f"duckdb:///{path}")
    with own.connect() as conn:
        conn.execute(sa.text("SET memory_limit = '1GB'"))

    with (
        _connect(tmp_path) as warehouse,
        warehouse.bounded_buffer([ORDERS, LINES]) as capped,
    ):
        inside = _limit(warehouse)
    with own.connect() as conn:
        query = sa.text("SELECT current_setting('memory_limit')")
        after = conn.execute(query).scalar_one()
    own.dispose()

    assert capped is False
    assert inside == "953.6 MiB"
    assert after == "953.6 MiB"


# Windows that DuckDB would read in one sorted statement, whose memory grows
# with the window: nanosecond timestamps and infinite timestamps do not bind
# back exactly, so they cannot mark where a page ends.
_ONE_STATEMENT_CURSORS = {
    "nanoseconds": "(TIMESTAMP '2025-01-01' + to_seconds(i))::TIMESTAMP_NS",
    "infinity": "CASE WHEN i = 0 THEN TIMESTAMP 'infinity' "
    "ELSE TIMESTAMP '2025-01-01' + to_seconds(i) END",
}


@pytest.mark.parametrize(
    "cursor_sql", _ONE_STATEMENT_CURSORS.values(), ids=list(_ONE_STATEMENT_CURSORS)
)
def test_cap_skips_windows_read_in_one_statement(
    tmp_path: Path, cursor_sql: str
) -> None:
    _shop(
        tmp_path,
        f"CREATE TABLE orders AS SELECT i AS order_id, {cursor_sql} AS updated_at "
        "FROM range(100) t(i)",
    )

    with (
        _connect(tmp_path) as warehouse,
        warehouse.bounded_buffer([ORDERS, LINES]) as capped,
    ):
        pass

    assert capped is False


def test_cap_lifted_for_failing_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _shop(tmp_path)
    caplog.set_level(logging.INFO, logger="connector.source.warehouse")
    broken = SourceSpec(Relation(table="lines"), key="order_id", where="qty / 'x' > 0")

    with _connect(tmp_path) as warehouse:
        default = _limit(warehouse)
        with warehouse.bounded_buffer([ORDERS, LINES]):
            with pytest.raises(SourceError):
                warehouse.rows_by_keys(broken, [1, 2])
            during = _limit(warehouse)

    assert during == default
    assert caplog.text.count("failed under the capped buffer pool") == 1

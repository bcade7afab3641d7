"""DuckDB window reads in pages: the same rows, in the same order, in bounded chunks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from source_backends import Backend

from connector.source import CursorWindow, Relation, SourceSpec, Warehouse

BASE = datetime(2024, 9, 1, 12, 0)


def make_table(backend: Backend, ddl: str, rows: list[tuple[Any, ...]]) -> None:
    backend.run(f"CREATE OR REPLACE TABLE t ({ddl})")
    if rows:
        marks = ", ".join(f":c{i}" for i in range(len(rows[0])))
        backend.run(
            f"INSERT INTO t VALUES ({marks})",
            [{f"c{i}": value for i, value in enumerate(row)} for row in rows],
        )


def spec(cursor: str | None = "updated_at", **fields: Any) -> SourceSpec:
    return SourceSpec(relation=Relation(table="t"), key="k", cursor=cursor, **fields)


def statements_of(warehouse: Warehouse) -> list[str]:
    seen: list[str] = []
    sa.event.listen(
        warehouse.engine,
        "before_cursor_execute",
        lambda _c, _cur, sql, *_rest: seen.append(sql),
    )
    return seen


def positions(chunks: list[list[dict[str, Any]]], cursor: bool = True) -> list[Any]:
    return [
        (row["__cursor"], row["k"]) if cursor else row["k"]
        for rows in chunks
        for row in rows
    ]


def expected(rows: list[tuple[Any, ...]]) -> list[tuple[Any, Any]]:
    # NULL keys sort last within a cursor value, as DuckDB's default does.
    present = [(row[1], row[0]) for row in rows if row[1] is not None]
    return sorted(present, key=lambda p: (p[0], p[1] is None, p[1] or 0))


def test_pages_are_limit_queries(duckdb_backend: Backend) -> None:
    rows = [(n, BASE + timedelta(minutes=n % 7)) for n in range(50)]
    make_table(duckdb_backend, "k BIGINT, updated_at TIMESTAMP", rows)

    with duckdb_backend.connect() as warehouse:
        seen = statements_of(warehouse)
        chunks = list(warehouse.stream_rows(spec(), CursorWindow(), 10))

    assert [len(c) for c in chunks] == [10, 10, 10, 10, 10]
    assert positions(chunks) == expected(rows)
    reads = [sql for sql in seen if "ORDER BY" in sql]
    assert len(reads) == 5
    assert all(sql.endswith("LIMIT 11") for sql in reads)


def test_boundary_duplicates_stay_together(duckdb_backend: Backend) -> None:
    """Three rows of key 9 at one cursor straddle the boundary; one chunk gets all."""
    rows = [(n, BASE) for n in range(8)] + [(9, BASE)] * 3 + [(10, BASE)]
    make_table(duckdb_backend, "k BIGINT, updated_at TIMESTAMP", rows)

    with duckdb_backend.connect() as warehouse:
        chunks = list(warehouse.stream_rows(spec(), CursorWindow(), 10))

    assert [len(c) for c in chunks] == [8, 4]
    assert [row["k"] for row in chunks[1]] == [9, 9, 9, 10]


def test_overlong_duplicate_run_ends(duckdb_backend: Backend) -> None:
    """Twelve copies of one row fill a page of 5.

    The page and the row after it (six copies) go out together, so the
    pipeline can reject the duplicate. The read then moves past the rest.
    """
    rows = [(1, BASE)] + [(2, BASE)] * 12 + [(3, BASE)]
    make_table(duckdb_backend, "k BIGINT, updated_at TIMESTAMP", rows)

    with duckdb_backend.connect() as warehouse:
        chunks = list(warehouse.stream_rows(spec(), CursorWindow(), 5))

    assert [[row["k"] for row in c] for c in chunks] == [[1], [2] * 6, [3]]


def test_null_keys_kept(duckdb_backend: Backend) -> None:
    """NULL keys sort last within a cursor value and survive page boundaries."""
    rows = [(None, BASE), (1, BASE), (None, BASE), (2, BASE), (None, BASE)]
    rows += [(n, BASE + timedelta(hours=1)) for n in (None, 5, None)]
    make_table(duckdb_backend, "k BIGINT, updated_at TIMESTAMP", rows)

    with duckdb_backend.connect() as warehouse:
        chunks = list(warehouse.stream_rows(spec(), CursorWindow(), 3))

    assert [len(c) for c in chunks] == [2, 3, 3]
    assert positions(chunks) == expected(rows)


def test_cursorless_pages_by_key(duckdb_backend: Backend) -> None:
    rows = [(f"order-{n:03}", None) for n in (5, 3, 9, 1, 7, 2)] + [(None, None)]
    make_table(duckdb_backend, "k VARCHAR, updated_at TIMESTAMP", rows)

    with duckdb_backend.connect() as warehouse:
        chunks = list(warehouse.stream_rows(spec(cursor=None), CursorWindow(), 4))

    keys = [f"order-{n:03}" for n in (1, 2, 3, 5, 7, 9)] + [None]
    assert positions(chunks, cursor=False) == keys


def test_window_bounds_every_page(duckdb_backend: Backend) -> None:
    rows = [(n, BASE + timedelta(minutes=n)) for n in range(30)]
    make_table(duckdb_backend, "k BIGINT, updated_at TIMESTAMP", rows)
    window = CursorWindow(
        lower=BASE + timedelta(minutes=4), upper=BASE + timedelta(minutes=21)
    )

    with duckdb_backend.connect() as warehouse:
        chunks = list(warehouse.stream_rows(spec(), window, 4))

    assert [k for _, k in positions(chunks)] == list(range(4, 21))


def test_fallback_cursor_pages(duckdb_backend: Backend) -> None:
    rows = [(n, BASE + timedelta(minutes=n) if n % 2 else None, BASE) for n in range(9)]
    make_table(
        duckdb_backend, "k BIGINT, updated_at TIMESTAMP, created_at TIMESTAMP", rows
    )

    with duckdb_backend.connect() as warehouse:
        source = spec(cursor_fallback="created_at")
        chunks = list(warehouse.stream_rows(source, CursorWindow(), 2))

    assert [k for _, k in positions(chunks)] == [0, 2, 4, 6, 8, 1, 3, 5, 7]


@pytest.mark.parametrize(
    "ddl",
    ["k BIGINT, updated_at TIMESTAMP_NS", "k BLOB, updated_at TIMESTAMP"],
)
def test_inexact_types_single_statement(duckdb_backend: Backend, ddl: str) -> None:
    """Nanosecond cursors and BLOB keys do not bind back exactly: no pages."""
    make_table(duckdb_backend, ddl, [])
    with duckdb_backend.connect() as warehouse:
        seen = statements_of(warehouse)
        assert list(warehouse.stream_rows(spec(), CursorWindow(), 3)) == []

    assert not [sql for sql in seen if "LIMIT" in sql]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(0, 6)),
            st.integers(0, 3).map(lambda m: BASE + timedelta(minutes=m)),
        ),
        max_size=40,
    ),
    page=st.integers(1, 6),
)
def test_pages_match_sorted_read(
    duckdb_backend: Backend, rows: list[tuple[Any, Any]], page: int
) -> None:
    """Any table, any page size: every position arrives once, in order.

    A run of equal positions longer than a page is cut to a page and one
    row. That is the documented exception. It only happens to duplicated
    rows, whose key the pipeline rejects.
    """
    make_table(duckdb_backend, "k BIGINT, updated_at TIMESTAMP", rows)

    with duckdb_backend.connect() as warehouse:
        chunks = list(warehouse.stream_rows(spec(), CursorWindow(), page))

    got = positions(chunks)
    want: list[Any] = []
    for position in expected(rows):
        if want[-(page + 1) :].count(position) < page + 1:
            want.append(position)
    assert got == want
    assert all(0 < len(c) <= page + 1 for c in chunks)


@pytest.mark.parametrize("cursor_type", ["TIMESTAMP", "TIMESTAMP_NS"])
def test_json_parsed_once_both_paths(duckdb_backend: Backend, cursor_type: str) -> None:
    """Paged rows come from the driver and single reads through SQLAlchemy.

    Both parse JSON columns once: a JSON string stays a string.
    """
    duckdb_backend.run(
        f"CREATE TABLE t AS SELECT 1 AS k, CAST(:ts AS {cursor_type}) AS updated_at, "
        """CAST('"plain text"' AS JSON) AS note, """
        """CAST('{"price": 19.99}' AS JSON) AS doc""",
        {"ts": BASE},
    )

    with duckdb_backend.connect() as warehouse:
        [[row]] = list(warehouse.stream_rows(spec(), CursorWindow(), 10))

    assert row["note"] == "plain text"
    assert row["doc"]["price"] == pytest.approx(19.99)


@pytest.mark.parametrize(
    "url_setting", ["", "?default_collation=nocase"], ids=["column", "database"]
)
def test_nocase_keys_not_lost(duckdb_backend: Backend, url_setting: str) -> None:
    """Keys equal under NOCASE are still different orders, read once each."""
    collate = "" if url_setting else " COLLATE NOCASE"
    keys = ["x"] * 5 + ["X", "ab-1", "AB-1", "Ab-1", "ab-2", "é", "e\u0301"]
    make_table(
        duckdb_backend,
        f"k VARCHAR{collate}, updated_at TIMESTAMP",
        [(key, BASE) for key in keys],
    )

    with duckdb_backend.connect(duckdb_backend.url + url_setting) as warehouse:
        seen = statements_of(warehouse)
        chunks = list(warehouse.stream_rows(spec(), CursorWindow(), 2))

    got = [row["k"] for rows in chunks for row in rows]
    assert any("LIMIT" in sql for sql in seen)
    # The run of five "x" is cut to a page and one row (three), as duplicates.
    assert sorted(got) == sorted(["x"] * 3 + keys[5:])


@pytest.mark.parametrize("infinity", ["infinity", "-infinity"])
@pytest.mark.parametrize("cursor_type", ["TIMESTAMP", "DATE", "TIMESTAMPTZ"])
def test_infinite_cursors_single_statement(
    duckdb_backend: Backend, infinity: str, cursor_type: str
) -> None:
    duckdb_backend.run(
        f"CREATE TABLE t AS SELECT n AS k, CASE WHEN n % 2 = 0 THEN "
        f"CAST('{infinity}' AS {cursor_type}) ELSE CAST('2024-09-01' AS "
        f"{cursor_type}) END AS updated_at FROM range(7) AS r(n)"
    )

    with duckdb_backend.connect() as warehouse:
        seen = statements_of(warehouse)
        chunks = list(warehouse.stream_rows(spec(), CursorWindow(), 2))

    assert sorted(row["k"] for rows in chunks for row in rows) == list(range(7))
    assert not [sql for sql in seen if "LIMIT" in sql]


@pytest.mark.parametrize("relation", ["view", "query"])
def test_views_queries_single_statement(duckdb_backend: Backend, relation: str) -> None:
    """A view or query would be computed again for every page."""
    make_table(duckdb_backend, "k BIGINT, updated_at TIMESTAMP", [(1, BASE), (2, BASE)])
    duckdb_backend.run("CREATE VIEW v AS SELECT * FROM t")
    source = (
        SourceSpec(relation=Relation(table="v"), key="k", cursor="updated_at")
        if relation == "view"
        else SourceSpec(
            relation=Relation(query="SELECT * FROM t"), key="k", cursor="updated_at"
        )
    )

    with duckdb_backend.connect() as warehouse:
        seen = statements_of(warehouse)
        chunks = list(warehouse.stream_rows(source, CursorWindow(), 1))

    assert [row["k"] for rows in chunks for row in rows] == [1, 2]
    assert not [sql for sql in seen if "LIMIT" in sql]


@pytest.mark.parametrize(
    ("name", "paged"),
    [
        ("orders", False),  # the view in main, although staging has a table
        ("main.orders", False),
        ("staging.orders", True),
        ("STAGING.Orders", True),
        ('"warehouse"."staging"."orders"', True),  # how dbt names a model
    ],
)
def test_only_base_tables_paged(
    duckdb_backend: Backend, name: str, paged: bool
) -> None:
    duckdb_backend.run("CREATE SCHEMA staging")
    duckdb_backend.run(
        "CREATE TABLE staging.orders AS SELECT range AS k, "
        "TIMESTAMP '2024-09-01' AS updated_at FROM range(3)"
    )
    duckdb_backend.run("CREATE VIEW orders AS SELECT * FROM staging.orders")
    source = SourceSpec(relation=Relation(table=name), key="k", cursor="updated_at")

    with duckdb_backend.connect() as warehouse:
        seen = statements_of(warehouse)
        chunks = list(warehouse.stream_rows(source, CursorWindow(), 2))

    assert sorted(row["k"] for rows in chunks for row in rows) == [0, 1, 2]
    assert any("LIMIT" in sql for sql in seen) is paged

"""Read a cursor window in pages, for warehouses that run inside the process.

DuckDB sorts in the process that queries it. One statement ordered by
cursor and key therefore keeps the whole window in the sync's memory until
the last row is fetched: 420 MiB for the million orders of the benchmark
shop, measured with DuckDB 2.0.1.
Read in pages instead, each ``ORDER BY cursor, key LIMIT n`` starting where
the page before ended, DuckDB keeps a top-n heap of one page.

A page never ends inside a run of rows that share one (cursor, key): such a
run is held back and starts the next page. Rows of one order with the same
cursor therefore always arrive in one chunk, where the pipeline reports
them as one duplicate-key reject, as it does for a single statement.

Pages are used only where they give the same rows as one statement: on
tables (a view or query would be computed again for every page), with key
and cursor types that bind back exactly, and without infinite cursors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import TextClause

from connector.source import query
from connector.source.columns import Row, value_kind
from connector.source.spec import CursorWindow

#: Runs a statement with parameters and returns its rows.
Fetch = Callable[[TextClause, dict[str, Any]], list[Row]]

# Types whose values come back as Python objects that compare equal to the
# stored value when bound again. TIMESTAMP_NS is missing on purpose: Python
# datetimes stop at microseconds, so a page could not start exactly after a
# nanosecond value.
_EXACT_CURSOR_TYPES = frozenset(
    {
        "date",
        "timestamp",
        "timestamp_s",
        "timestamp_ms",
        "timestamp with time zone",
        "timestamptz",
    }
)


#: Rows per page, one fewer than the LIMIT, which reads one row ahead.
#: DuckDB plans ``ORDER BY ... LIMIT n`` as a top-n heap only while n <= 5,000
#: or n is small against the row estimate (duckdb/duckdb pull request 17140).
#: Above that it sorts every matching row, as EXPLAIN shows in DuckDB 2.0.1.
MAX_PAGE_ROWS = 4999


def can_page(bound: query.BoundSpec) -> bool:
    """Return whether every key and cursor value binds back to itself exactly."""
    if value_kind(bound.key_type) is None or not bound.key_name:
        return False
    return all(
        value_kind(name) in ("integer", "decimal")
        or name.strip().lower() in _EXACT_CURSOR_TYPES
        for name in bound.cursor_types
    )


# A relation name resolves to a base table, and to nothing that could shadow
# it: no view of that name where DuckDB looks first (the temp catalog for a
# bare name), and, for ``a.b``, no attached database ``a`` that DuckDB could
# read as the catalog. Names compare without case, as DuckDB matches them.
_BASE_TABLE_SQL = """
WITH wanted AS (
    SELECT
        lower(coalesce(:catalog, current_database())) AS catalog,
        lower(coalesce(:schema, current_schema())) AS schema,
        lower(:name) AS name
)
SELECT
    (SELECT count(*) FROM duckdb_tables() AS t, wanted AS w
     WHERE lower(t.database_name) = w.catalog
       AND lower(t.schema_name) = w.schema
       AND lower(t.table_name) = w.name) = 1
    AND (SELECT count(*) FROM duckdb_views() AS v, wanted AS w
         WHERE NOT v.internal
           AND lower(v.view_name) = w.name
           AND ((lower(v.database_name) = w.catalog AND lower(v.schema_name) = w.schema)
                OR (:bare AND v.temporary))) = 0
    AND (:schema IS NULL OR :catalog IS NOT NULL
         OR (SELECT count(*) FROM duckdb_databases() AS d
             WHERE lower(d.database_name) = lower(:schema)) = 0)
    AS paged
"""


def base_table_statement(parts: list[str]) -> tuple[TextClause, dict[str, Any]]:
    """Select whether the table named by ``parts`` is a DuckDB base table.

    ``parts`` are the name's unquoted parts: name, schema.name or
    catalog.schema.name. The row's ``paged`` column is true only when DuckDB
    resolves the name to a base table. A view, which DuckDB would compute
    again for every page, and anything ambiguous give false.
    """
    catalog, schema = None, None
    if len(parts) == 3:
        catalog, schema = parts[0], parts[1]
    elif len(parts) == 2:
        schema = parts[0]
    params = {
        "catalog": catalog,
        "schema": schema,
        "name": parts[-1],
        "bare": len(parts) == 1,
    }
    return sa.text(_BASE_TABLE_SQL), params


def finite_range(fetch: Fetch, bound: query.BoundSpec, window: CursorWindow) -> bool:
    """Return whether the window's cursors all bind back exactly.

    DuckDB returns the timestamps and dates ``infinity`` and ``-infinity``
    as Python's largest and smallest values, which do not equal them when
    bound again. As they sort first and last, the lowest and highest cursor
    tell whether any row has one.
    """
    if bound.cursor_sql is None:
        return True
    statement, params = query.window_range_statement(bound, window)
    [row] = fetch(statement, params)
    return not any(
        _is_extreme(row[alias]) for alias in (query.MIN_ALIAS, query.MAX_ALIAS)
    )


def _is_extreme(value: Any) -> bool:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) in (datetime.min, datetime.max)
    if isinstance(value, date):
        return value in (date.min, date.max)
    return False


def read_pages(
    fetch: Fetch, bound: query.BoundSpec, window: CursorWindow, chunk_rows: int
) -> Iterator[list[Row]]:
    """Yield the window's rows in page order, in lists of about ``chunk_rows``.

    A list has one row more than ``chunk_rows`` when one (cursor, key)
    fills a whole page. Pages that end together in one list still never
    split a run of equal (cursor, key) positions.
    """
    chunk: list[Row] = []
    page_rows = min(chunk_rows, MAX_PAGE_ROWS)
    for page in _pages(fetch, bound, window, page_rows):
        if chunk and len(chunk) + len(page) > chunk_rows:
            yield chunk
            chunk = []
        chunk.extend(page)
    if chunk:
        yield chunk


def _pages(
    fetch: Fetch, bound: query.BoundSpec, window: CursorWindow, page_rows: int
) -> Iterator[list[Row]]:
    has_cursor = bound.cursor_sql is not None
    text_key = value_kind(bound.key_type) == "text"

    def position(row: Row) -> tuple[Any, Any]:
        cursor = row[query.CURSOR_ALIAS] if has_cursor else None
        return cursor, row[bound.key_name]

    start: query.PageStart | None = None
    while True:
        # The row after the page shows whether the page's last run of equal
        # positions goes on into the next page.
        statement, params = query.window_page_statement(
            bound, window, start, page_rows + 1, text_key=text_key
        )
        rows = fetch(statement, params)
        if len(rows) <= page_rows:
            if rows:
                yield rows
            return
        following = position(rows[page_rows])
        keep = page_rows
        while keep > 0 and position(rows[keep - 1]) == following:
            keep -= 1
        if keep == 0:
            # One (cursor, key) fills the page and the row after it. They go
            # out together, so the pipeline rejects the key as duplicated.
            # Its further rows are skipped.
            yield rows
            start = query.PageStart(*following, inclusive=False)
        else:
            yield rows[:keep]
            start = query.PageStart(*following, inclusive=True)

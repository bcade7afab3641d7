"""Warehouse reads that behave the same on DuckDB and PostgreSQL."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from source_backends import Backend

from connector.errors import SourceError
from connector.source import CursorWindow, Relation, SourceSpec

BASE = datetime(2024, 9, 1, 12, 0)

ORDERS_DDL = """
CREATE TABLE orders (
    order_id BIGINT,
    customer VARCHAR(40),
    updated_at TIMESTAMP,
    created_at TIMESTAMP,
    status VARCHAR(20),
    total DECIMAL(12, 2)
)
"""
INSERT = (
    "INSERT INTO orders VALUES "
    "(:order_id, :customer, :updated_at, :created_at, :status, :total)"
)


def order(number: int, updated_at: datetime | None, **extra: Any) -> dict[str, Any]:
    row = {
        "order_id": number,
        "customer": f"c{number % 7}",
        "updated_at": updated_at,
        "created_at": BASE - timedelta(days=1, minutes=number),
        "status": "placed",
        "total": Decimal(f"{number}.25"),
    }
    row.update(extra)
    return row


def seed(backend: Backend, rows: list[dict[str, Any]]) -> None:
    backend.run(ORDERS_DDL)
    if rows:
        backend.run(INSERT, rows)


def spec(**fields: Any) -> SourceSpec:
    values: dict[str, Any] = {"key": "order_id", "cursor": "updated_at"}
    values.update(fields)
    relation = values.pop("relation", Relation(table="orders"))
    return SourceSpec(relation=relation, **values)


def read_all(
    backend: Backend, source: SourceSpec, window: CursorWindow, chunk: int = 1000
):
    with backend.connect() as warehouse:
        chunks = list(warehouse.stream_rows(source, window, chunk))
    return chunks, [row for rows in chunks for row in rows]


def test_stream_rows_yields_ordered_chunks(backend: Backend) -> None:
    """Rows arrive in chunks of chunk_rows, ordered by cursor then key."""
    rows = [order(n, BASE + timedelta(minutes=(n * 7) % 25)) for n in range(25)]
    seed(backend, rows)

    chunks, flat = read_all(backend, spec(), CursorWindow(), chunk=10)

    assert [len(rows) for rows in chunks] == [10, 10, 5]
    got = [(row["__cursor"], row["order_id"]) for row in flat]
    assert got == sorted(got)
    assert set(flat[0]) == {
        "order_id",
        "customer",
        "updated_at",
        "created_at",
        "status",
        "total",
        "__cursor",
    }


def test_cursor_ties_span_chunks(backend: Backend) -> None:
    """Twelve rows sharing one cursor value all arrive, split over chunks."""
    seed(
        backend, [order(n, BASE) for n in range(12)] + [order(99, BASE + timedelta(1))]
    )

    chunks, flat = read_all(backend, spec(), CursorWindow(lower=BASE), chunk=5)

    assert [len(rows) for rows in chunks] == [5, 5, 3]
    assert [row["order_id"] for row in flat] == [*range(12), 99]


def test_window_lower_inclusive_upper_exclusive(backend: Backend) -> None:
    seed(backend, [order(n, BASE + timedelta(hours=n)) for n in range(6)])
    window = CursorWindow(
        lower=BASE + timedelta(hours=1), upper=BASE + timedelta(hours=4)
    )

    _, flat = read_all(backend, spec(), window)

    assert [row["order_id"] for row in flat] == [1, 2, 3]


def test_null_cursor_rows_streamed_apart(backend: Backend) -> None:
    seed(backend, [order(1, BASE), order(2, None), order(3, BASE), order(4, None)])

    _, flat = read_all(backend, spec(), CursorWindow())
    with backend.connect() as warehouse:
        nulls = [
            row
            for rows in warehouse.stream_null_cursor_rows(spec(), 10)
            for row in rows
        ]

    assert [row["order_id"] for row in flat] == [1, 3]
    assert [row["order_id"] for row in nulls] == [2, 4]
    assert all(row["__cursor"] is None for row in nulls)


def test_cursor_fallback_fills_null_cursor(backend: Backend) -> None:
    seed(backend, [order(1, BASE), order(2, None)])
    source = spec(cursor_fallback="created_at")

    _, flat = read_all(backend, source, CursorWindow())
    with backend.connect() as warehouse:
        nulls = list(warehouse.stream_null_cursor_rows(source, 10))

    assert [row["order_id"] for row in flat] == [2, 1]
    assert flat[0]["__cursor"] == BASE - timedelta(days=1, minutes=2)
    assert flat[0]["updated_at"] is None
    assert nulls == []


def test_where_clause_with_colon_and_percent(backend: Backend) -> None:
    """User SQL keeps literal colons and percent signs."""
    seed(
        backend,
        [
            order(1, BASE, status="a:b"),
            order(2, BASE, status="test%1"),
            order(3, BASE, status="placed"),
        ],
    )
    source = spec(where="status <> 'a:b' AND status NOT LIKE 'test%'")

    _, flat = read_all(backend, source, CursorWindow())

    assert [row["order_id"] for row in flat] == [3]


def test_expressions_become_row_keys(backend: Backend) -> None:
    seed(backend, [order(1, BASE, status="returned"), order(2, BASE)])
    source = spec(
        expressions=(
            ("__expr_0", "CASE WHEN status = 'returned' THEN 'returned' END"),
            ("__expr_1", "total * 100"),
        )
    )

    _, flat = read_all(backend, source, CursorWindow())

    assert flat[0]["__expr_0"] == "returned"
    assert flat[1]["__expr_0"] is None
    assert flat[0]["__expr_1"] == Decimal("125.00")


def test_query_relation_reads_subquery(backend: Backend) -> None:
    seed(backend, [order(n, BASE + timedelta(minutes=n)) for n in range(5)])
    relation = Relation(
        query="SELECT order_id, updated_at FROM orders WHERE order_id > 1;"
    )

    _, flat = read_all(backend, spec(relation=relation), CursorWindow())

    assert [row["order_id"] for row in flat] == [2, 3, 4]
    assert set(flat[0]) == {"order_id", "updated_at", "__cursor"}


def test_rows_by_keys_chunks_2500_keys(backend: Backend) -> None:
    """2,500 keys run as three IN statements of at most 1,000 keys.

    DuckDB binds the keys as one list parameter, so they go in one statement.
    """
    seed(backend, [])
    backend.run(
        "INSERT INTO orders SELECT n, 'c', :ts, :ts, 'placed', n "
        "FROM generate_series(0, 2599) AS t(n)",
        {"ts": BASE},
    )
    statements: list[str] = []

    with backend.connect() as warehouse:
        sa.event.listen(
            warehouse.engine,
            "before_cursor_execute",
            lambda _c, _cur, sql, *_rest: statements.append(sql),
        )
        rows = warehouse.rows_by_keys(spec(), [*range(2500), 5000])

    assert sorted(row["order_id"] for row in rows) == list(range(2500))
    in_lists = [sql for sql in statements if " IN " in sql]
    assert len(in_lists) == (1 if backend.name == "duckdb" else 3)


def test_text_keys_find_integer_keys(backend: Backend) -> None:
    """Keys kept as text find integer keys, NULL-cursor rows included."""
    seed(backend, [order(1, BASE), order(2, None), order(3, BASE)])

    with backend.connect() as warehouse:
        rows = warehouse.rows_by_keys(spec(), ["2", "3", "3", "x"], as_text=True)

    assert [row["order_id"] for row in rows] == [2, 3]
    assert rows[0]["__cursor"] is None


def test_integer_keys_on_text_column(backend: Backend) -> None:
    """An integer order key finds child rows keyed by a VARCHAR column."""
    seed(backend, [])
    backend.run("CREATE TABLE items (order_ref VARCHAR(20), sku VARCHAR(20))")
    backend.run(
        "INSERT INTO items VALUES (:o, :s)",
        [{"o": "1", "s": "A"}, {"o": "1", "s": "B"}, {"o": "2", "s": "C"}],
    )
    items = SourceSpec(Relation(table="items"), key="order_ref")

    with backend.connect() as warehouse:
        rows = warehouse.rows_by_keys(items, [1, 3])

    assert [row["sku"] for row in rows] == ["A", "B"]


def test_rows_by_keys_applies_where(backend: Backend) -> None:
    seed(backend, [order(1, BASE, status="test"), order(2, BASE)])

    with backend.connect() as warehouse:
        rows = warehouse.rows_by_keys(spec(where="status <> 'test'"), [1, 2])

    assert [row["order_id"] for row in rows] == [2]


def test_changed_keys_and_max(backend: Backend) -> None:
    seed(backend, [])
    backend.run(
        "CREATE TABLE items (order_id BIGINT, sku VARCHAR(10), updated_at TIMESTAMP)"
    )
    rows = [
        {"o": 1, "s": "A", "u": BASE},
        {"o": 2, "s": "B", "u": BASE + timedelta(hours=1)},
        {"o": 2, "s": "C", "u": BASE + timedelta(hours=3)},
        {"o": 3, "s": "D", "u": BASE + timedelta(hours=2)},
        {"o": 4, "s": "E", "u": None},
    ]
    backend.run("INSERT INTO items VALUES (:o, :s, :u)", rows)
    items = SourceSpec(Relation(table="items"), key="order_id", cursor="updated_at")

    with backend.connect() as warehouse:
        keys, top = warehouse.changed_keys(items, BASE + timedelta(hours=1))
        all_keys, all_top = warehouse.changed_keys(items, None)
        none_keys, none_top = warehouse.changed_keys(items, BASE + timedelta(days=1))
        max_cursor = warehouse.max_cursor(items)

    assert sorted(keys) == [2, 3]
    assert top == BASE + timedelta(hours=3)
    assert sorted(all_keys) == [1, 2, 3]
    assert all_top == top
    assert (none_keys, none_top) == ([], None)
    assert max_cursor == top


def test_describe_lists_columns(backend: Backend) -> None:
    seed(backend, [])
    source = spec(expressions=(("__expr_0", "upper(status)"),))

    with backend.connect() as warehouse:
        columns = warehouse.describe(source)

    assert list(columns) == [
        "order_id",
        "customer",
        "updated_at",
        "created_at",
        "status",
        "total",
        "__expr_0",
    ]
    assert "int" in columns["order_id"].lower()
    assert "timestamp" in columns["updated_at"].lower()
    assert columns["total"].lower().replace(" ", "") in (
        "decimal(12,2)",
        "numeric(12,2)",
    )


def test_uppercase_mapping_names_match(backend: Backend) -> None:
    seed(backend, [order(1, BASE), order(2, None)])
    source = SourceSpec(
        Relation(table="ORDERS"),
        key="ORDER_ID",
        cursor="Updated_At",
        cursor_fallback="CREATED_AT",
    )

    _, flat = read_all(backend, source, CursorWindow())

    assert [row["order_id"] for row in flat] == [2, 1]


def test_quoted_column_matches_exactly(backend: Backend) -> None:
    backend.run('CREATE TABLE shop ("OrderId" BIGINT, "UpdatedAt" TIMESTAMP)')
    backend.run("INSERT INTO shop VALUES (7, :u)", {"u": BASE})
    source = SourceSpec(Relation(table="shop"), key='"OrderId"', cursor="updatedat")

    _, flat = read_all(backend, source, CursorWindow())

    assert flat == [{"orderid": 7, "updatedat": BASE, "__cursor": BASE}]


def test_missing_table_suggests_names(backend: Backend) -> None:
    seed(backend, [])

    with backend.connect() as warehouse, pytest.raises(SourceError) as caught:
        warehouse.describe(spec(relation=Relation(table="ordres")))

    message = str(caught.value)
    assert "ordres" in message
    assert "Tables with similar names: orders" in message
    assert "schema" in message
    assert caught.value.retryable is False


def test_missing_column_lists_near_matches(backend: Backend) -> None:
    seed(backend, [])

    with backend.connect() as warehouse, pytest.raises(SourceError) as caught:
        list(warehouse.stream_rows(spec(cursor="updatd_at"), CursorWindow(), 10))

    message = str(caught.value)
    assert "column updatd_at not found in orders" in message
    assert "Did you mean updated_at" in message


def test_bad_where_clause_names_the_sql(backend: Backend) -> None:
    seed(backend, [])

    with backend.connect() as warehouse, pytest.raises(SourceError) as caught:
        warehouse.describe(spec(where="no_such_column = 1"))

    assert "where: no_such_column = 1" in str(caught.value)


def test_window_without_cursor_is_rejected(backend: Backend) -> None:
    seed(backend, [order(2, BASE), order(1, None)])
    source = spec(cursor=None)

    with backend.connect() as warehouse:
        rows = [
            row
            for chunk in warehouse.stream_rows(source, CursorWindow(), 10)
            for row in chunk
        ]
        nulls = list(warehouse.stream_null_cursor_rows(source, 10))
        with pytest.raises(SourceError, match="no cursor column"):
            warehouse.stream_rows(source, CursorWindow(lower=BASE), 10)

    assert [row["order_id"] for row in rows] == [1, 2]
    assert "__cursor" not in rows[0]
    assert nulls == []


def test_aware_bound_on_naive_rejected(backend: Backend) -> None:
    """An aware bound against a naive column would shift by the session zone."""
    seed(backend, [order(1, BASE)])
    aware = datetime(2024, 9, 1, tzinfo=UTC)

    with (
        backend.connect() as warehouse,
        pytest.raises(SourceError, match=r"naive|aware"),
    ):
        warehouse.stream_rows(spec(), CursorWindow(lower=aware), 10)


TYPES_DDL = """
CREATE TABLE typed (
    id BIGINT,
    amount DECIMAL(20, 6),
    naive TIMESTAMP,
    aware TIMESTAMPTZ,
    day DATE
)
"""


def test_values_keep_their_types(backend: Backend) -> None:
    aware = datetime.fromisoformat("2024-09-01T10:30:00+05:45")
    backend.run(TYPES_DDL)
    backend.run(
        "INSERT INTO typed VALUES (:id, :amount, :naive, :aware, :day)",
        {
            "id": 9007199254740993,
            "amount": Decimal("12345678901234.123457"),
            "naive": BASE,
            "aware": aware,
            "day": date(2024, 9, 1),
        },
    )
    source = SourceSpec(Relation(table="typed"), key="id", cursor="aware")

    _, flat = read_all(backend, source, CursorWindow(lower=aware))
    row = flat[0]

    assert row["id"] == 9007199254740993
    assert type(row["id"]) is int
    assert row["amount"] == Decimal("12345678901234.123457")
    assert type(row["amount"]) is Decimal
    assert row["naive"] == BASE
    assert row["naive"].tzinfo is None
    assert row["aware"] == aware
    assert row["aware"].utcoffset() is not None
    assert row["day"] == date(2024, 9, 1)
    assert type(row["day"]) is date


@pytest.mark.parametrize(
    ("column_type", "values", "lower"),
    [
        ("BIGINT", [10, 20, 9007199254740993], 20),
        (
            "DATE",
            [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)],
            date(2024, 1, 2),
        ),
        (
            "DECIMAL(18, 3)",
            [Decimal("1.001"), Decimal("1.002"), Decimal("1.003")],
            Decimal("1.002"),
        ),
    ],
)
def test_non_timestamp_cursors(
    backend: Backend, column_type: str, values: list[Any], lower: Any
) -> None:
    backend.run(f"CREATE TABLE events (id BIGINT, seq {column_type})")
    backend.run(
        "INSERT INTO events VALUES (:id, :seq)",
        [{"id": n, "seq": value} for n, value in enumerate(values)],
    )
    source = SourceSpec(Relation(table="events"), key="id", cursor="seq")

    _, flat = read_all(backend, source, CursorWindow(lower=lower))

    assert [row["__cursor"] for row in flat] == values[1:]
    assert all(type(row["__cursor"]) is type(lower) for row in flat)


def test_stream_memory_stays_flat(backend: Backend) -> None:
    """Reading 100,000 rows in chunks of 1,000 never keeps them all in memory."""
    seed(backend, [])
    backend.run(
        "INSERT INTO orders SELECT n, 'customer-' || CAST(n AS VARCHAR), :ts, :ts, "
        "'placed', n FROM generate_series(1, 100000) AS t(n)",
        {"ts": BASE},
    )
    count = 0

    with backend.connect() as warehouse:
        chunks = warehouse.stream_rows(spec(), CursorWindow(), 1000)
        tracemalloc.start()
        try:
            for rows in chunks:
                count += len(rows)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert count == 100000
    # Measured on this test: all 100,000 rows as dicts take about 65 MB.
    # One chunk of 1,000 rows takes well under 1 MB.
    assert peak < 10_000_000


def test_rows_have_named_columns_only(backend: Backend) -> None:
    """Named columns are matched in any case; a missing name is left out."""
    seed(backend, [order(1, BASE), order(2, BASE)])
    source = spec(columns=("STATUS", "total", "no_such_column"))

    _, flat = read_all(backend, source, CursorWindow())
    with backend.connect() as warehouse:
        by_key = warehouse.rows_by_keys(source, [1])

    assert set(flat[0]) == {"order_id", "status", "total", "__cursor"}
    assert set(by_key[0]) == set(flat[0])

"""PostgreSQL specifics: server-side cursors, time zones, JSON, secrets."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pg import PostgresServer
from source_backends import Backend

from connector.config import WarehouseSettings
from connector.errors import SourceError
from connector.source import CursorWindow, Relation, SourceSpec, Warehouse

pytestmark = pytest.mark.postgres

PASSWORD = "S3cret-pw/with@chars"
ODD_ZONE = "Pacific/Chatham"


def with_option(url: str, option: str) -> str:
    """Add one ``-c name=value`` server option to a URL that has options."""
    return url + "%20" + option.replace("=", "%3D")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def rows_of(
    warehouse: Warehouse, source: SourceSpec, window: CursorWindow
) -> list[dict[str, Any]]:
    return [row for rows in warehouse.stream_rows(source, window, 2) for row in rows]


def test_stream_rows_uses_server_side_cursor(postgres_backend: Backend) -> None:
    postgres_backend.run("CREATE TABLE orders (id BIGINT, at TIMESTAMP)")
    postgres_backend.run("INSERT INTO orders VALUES (1, now()), (2, now()), (3, now())")
    cursors: list[tuple[str, str | None]] = []

    def record(_conn: Any, cursor: Any, statement: str, *_rest: Any) -> None:
        if "ORDER BY" in statement:
            cursors.append((type(cursor).__name__, getattr(cursor, "name", None)))

    source = SourceSpec(Relation(table="orders"), key="id", cursor="at")
    with postgres_backend.connect() as warehouse:
        sa.event.listen(warehouse.engine, "before_cursor_execute", record)
        chunks = list(warehouse.stream_rows(source, CursorWindow(), 2))

    assert [len(rows) for rows in chunks] == [2, 1]
    assert len(cursors) == 1
    kind, name = cursors[0]
    assert kind == "ServerCursor"
    assert name


def test_timestamptz_window_odd_zone(postgres_backend: Backend) -> None:
    """Aware bounds select by instant, whatever the session's TimeZone."""
    postgres_backend.run("CREATE TABLE orders (id BIGINT, at TIMESTAMPTZ)")
    start = datetime(2024, 11, 3, 5, 0, tzinfo=UTC)
    postgres_backend.run(
        "INSERT INTO orders VALUES (:id, :at)",
        [{"id": n, "at": start + timedelta(hours=n)} for n in range(6)],
    )
    url = with_option(postgres_backend.url, f"-cTimeZone={ODD_ZONE}")
    source = SourceSpec(Relation(table="orders"), key="id", cursor="at")

    with postgres_backend.connect(url) as warehouse:
        with warehouse.engine.connect() as conn:
            zone = conn.execute(sa.text("SHOW TimeZone")).scalar()
        first = rows_of(
            warehouse, source, CursorWindow(lower=start + timedelta(hours=2))
        )
        again = rows_of(warehouse, source, CursorWindow(lower=first[1]["__cursor"]))

    assert zone == ODD_ZONE
    assert [row["id"] for row in first] == [2, 3, 4, 5]
    assert first[0]["at"] == start + timedelta(hours=2)
    assert first[0]["at"].utcoffset() == timedelta(hours=13, minutes=45)
    assert [row["id"] for row in again] == [3, 4, 5]


def test_naive_timestamp_ignores_zones(
    postgres_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Naive values come back and bind back unchanged in any zone."""
    monkeypatch.setenv("TZ", "Asia/Kathmandu")
    time.tzset()
    postgres_backend.run("CREATE TABLE orders (id BIGINT, at TIMESTAMP)")
    start = datetime(2024, 3, 10, 1, 30)
    postgres_backend.run(
        "INSERT INTO orders VALUES (:id, :at)",
        [{"id": n, "at": start + timedelta(hours=n)} for n in range(4)],
    )
    url = with_option(postgres_backend.url, f"-cTimeZone={ODD_ZONE}")
    source = SourceSpec(Relation(table="orders"), key="id", cursor="at")

    try:
        with postgres_backend.connect(url) as warehouse:
            rows = rows_of(
                warehouse, source, CursorWindow(lower=start + timedelta(hours=1))
            )
    finally:
        monkeypatch.undo()
        time.tzset()

    assert [row["at"] for row in rows] == [
        start + timedelta(hours=n) for n in (1, 2, 3)
    ]
    assert all(row["at"].tzinfo is None for row in rows)


def test_json_and_arrays_as_python(postgres_backend: Backend) -> None:
    postgres_backend.run(
        "CREATE TABLE orders (id BIGINT, items JSONB, doc JSON, tags TEXT[])"
    )
    postgres_backend.run(
        """INSERT INTO orders VALUES
        (1, '[{"sku": "A", "qty": 2}]', '{"k": [1, 2]}', ARRAY['x', 'y'])"""
    )
    source = SourceSpec(Relation(table="orders"), key="id")

    with postgres_backend.connect() as warehouse:
        rows = warehouse.rows_by_keys(source, [1])
        columns = warehouse.describe(source)

    assert rows[0]["items"] == [{"sku": "A", "qty": 2}]
    assert rows[0]["doc"] == {"k": [1, 2]}
    assert rows[0]["tags"] == ["x", "y"]
    assert columns == {"id": "int8", "items": "jsonb", "doc": "json", "tags": "text[]"}


def test_uuid_keys_given_as_text(postgres_backend: Backend) -> None:
    """Text keys for a UUID column compare against the column as text."""
    postgres_backend.run("CREATE TABLE orders (id UUID, n INT)")
    postgres_backend.run(
        "INSERT INTO orders VALUES ('9bed808a-5074-4dfb-b1eb-388e2e60a6da', 1), "
        "('b83630c1-0fdc-4cd2-818d-0b6d4384ce86', 2)"
    )
    source = SourceSpec(Relation(table="orders"), key="id")

    with postgres_backend.connect() as warehouse:
        rows = warehouse.rows_by_keys(
            source, ["b83630c1-0fdc-4cd2-818d-0b6d4384ce86"], as_text=True
        )

    assert [row["n"] for row in rows] == [2]


def test_unix_socket_and_plain_scheme(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """A socket URL and a driverless postgresql:// URL both connect via psycopg 3."""
    plain = postgres_server.url.replace("postgresql+psycopg://", "postgresql://")

    for url in (postgres_server.socket_url, plain):
        with Warehouse.connect(WarehouseSettings(url=url), tmp_path) as warehouse:
            assert warehouse.engine.dialect.driver == "psycopg"


def test_password_hidden_everywhere(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    url = sa.engine.make_url(postgres_server.url).set(password=PASSWORD)
    settings = WarehouseSettings(url=url.render_as_string(hide_password=False))
    missing = SourceSpec(Relation(table="no_such_table"), key="id")

    with Warehouse.connect(settings, tmp_path) as warehouse:
        text = repr(warehouse)
        with pytest.raises(SourceError) as caught:
            warehouse.describe(missing)
    unreachable_settings = WarehouseSettings(
        url=url.set(port=closed_port()).render_as_string(hide_password=False)
    )
    with pytest.raises(SourceError) as unreachable:
        Warehouse.connect(unreachable_settings, tmp_path)

    assert "no_such_table" in str(caught.value)
    assert "cannot connect to the postgresql warehouse" in str(unreachable.value)
    assert unreachable.value.retryable is True
    for message in (
        text,
        str(caught.value),
        str(unreachable.value),
        str(caught.value.__cause__),
    ):
        assert "S3cret" not in message
        assert "postgresql+psycopg://" not in message

"""Snowflake reads through snowflake-sqlalchemy, run in-process by fakesnow."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import fakesnow
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connector.config import SnowflakeSettings, WarehouseSettings
from connector.errors import ConfigError, SourceError
from connector.source import CursorWindow, Relation, SourceSpec, Warehouse
from connector.source.connection import load_private_key, snowflake_engine
from connector.source.failures import Redactor

# fakesnow 0.12.1 reads DuckDB results through Arrow, which DuckDB 2.0 warns about.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Arrow output on a DB-API result:UserWarning"
)

PASSWORD = "sf-Pa55word-xyz"
BASE = datetime(2024, 9, 1, 12, 0)
ORDERS = """
CREATE TABLE orders (
    order_id NUMBER(38, 0),
    customer VARCHAR,
    updated_at TIMESTAMP_NTZ,
    created_at TIMESTAMP_NTZ,
    placed_at TIMESTAMP_TZ,
    total NUMBER(12, 2),
    line_items ARRAY,
    extra VARIANT
)
"""


def snowflake_settings(**extra: Any) -> SnowflakeSettings:
    fields: dict[str, Any] = {
        "account": "fake_account",
        "user": "tester",
        "password": PASSWORD,
        "database": "SHOP",
        "schema": "RAW",
        "warehouse": "WH",
        "role": "READER",
    }
    fields.update(extra)
    return SnowflakeSettings.model_validate(fields)


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    """A Warehouse on a fakesnow database SHOP.RAW with an orders table."""
    with fakesnow.patch():
        settings = WarehouseSettings(snowflake=snowflake_settings())
        with Warehouse.connect(settings, tmp_path) as connected:
            with connected.engine.begin() as conn:
                conn.execute(sa.text(ORDERS))
                for number in range(7):
                    conn.execute(sa.text(_insert(number)))
            yield connected


def _insert(number: int) -> str:
    updated = "NULL" if number == 6 else f"'{BASE + timedelta(minutes=number // 2)}'"
    placed = (datetime(2024, 9, 1, 5, tzinfo=UTC) + timedelta(hours=number)).isoformat()
    return (
        "INSERT INTO orders SELECT "
        f"{9007199254740990 + number}, 'c{number}', {updated}, "
        f"'{BASE - timedelta(1)}', "
        f"'{placed.replace('+00:00', 'Z')}', {number}.25, "
        f"ARRAY_CONSTRUCT(OBJECT_CONSTRUCT('sku', 'S{number}', 'price', 1.5)), "
        "PARSE_JSON('{\"gift\": true}')"
    )


def rows_of(
    warehouse: Warehouse, source: SourceSpec, window: CursorWindow, chunk: int = 3
):
    chunks = list(warehouse.stream_rows(source, window, chunk))
    return chunks, [row for rows in chunks for row in rows]


ORDERS_SPEC = SourceSpec(Relation(table="orders"), key="order_id", cursor="updated_at")


def test_stream_rows_with_lowercase_names(warehouse: Warehouse) -> None:
    """Unquoted lowercase names in the mapping match Snowflake's upper case."""
    chunks, flat = rows_of(warehouse, ORDERS_SPEC, CursorWindow())

    assert [len(rows) for rows in chunks] == [3, 3]
    assert [row["order_id"] for row in flat] == [9007199254740990 + n for n in range(6)]
    assert "updated_at" in flat[0]
    assert flat[0]["__cursor"] == BASE


def test_number_types_exact(warehouse: Warehouse) -> None:
    _, flat = rows_of(warehouse, ORDERS_SPEC, CursorWindow())

    assert type(flat[3]["order_id"]) is int
    assert flat[3]["order_id"] == 9007199254740993
    assert flat[3]["total"] == Decimal("3.25")
    assert type(flat[3]["total"]) is Decimal


def test_array_variant_parsed(warehouse: Warehouse) -> None:
    _, flat = rows_of(warehouse, ORDERS_SPEC, CursorWindow())

    assert flat[0]["line_items"] == [{"sku": "S0", "price": Decimal("1.5")}]
    assert flat[0]["extra"] == {"gift": True}


def test_window_bounds_and_null_cursor(warehouse: Warehouse) -> None:
    window = CursorWindow(
        lower=BASE + timedelta(minutes=1), upper=BASE + timedelta(minutes=2)
    )

    _, flat = rows_of(warehouse, ORDERS_SPEC, window)
    nulls = [
        row
        for rows in warehouse.stream_null_cursor_rows(ORDERS_SPEC, 10)
        for row in rows
    ]

    assert [row["order_id"] % 10 for row in flat] == [2, 3]
    assert [row["order_id"] % 10 for row in nulls] == [6]


def test_fallback_and_aware_cursor(warehouse: Warehouse) -> None:
    fallback = SourceSpec(
        Relation(table="ORDERS"),
        key="ORDER_ID",
        cursor="updated_at",
        cursor_fallback="created_at",
    )
    aware = SourceSpec(Relation(table="orders"), key="order_id", cursor="placed_at")
    lower = datetime(2024, 9, 1, 9, tzinfo=UTC)

    _, with_fallback = rows_of(warehouse, fallback, CursorWindow())
    _, placed = rows_of(warehouse, aware, CursorWindow(lower=lower))

    assert with_fallback[0]["order_id"] % 10 == 6
    assert with_fallback[0]["__cursor"] == BASE - timedelta(1)
    assert [row["order_id"] % 10 for row in placed] == [4, 5, 6]
    assert placed[0]["placed_at"] == lower


def test_keys_changes_and_describe(warehouse: Warehouse) -> None:
    rows = warehouse.rows_by_keys(
        ORDERS_SPEC, ["9007199254740993", "9007199254740996"], as_text=True
    )
    keys, top = warehouse.changed_keys(ORDERS_SPEC, BASE + timedelta(minutes=2))
    columns = warehouse.describe(ORDERS_SPEC)

    assert [row["order_id"] for row in rows] == [9007199254740993, 9007199254740996]
    assert sorted(keys) == [9007199254740994, 9007199254740995]
    assert top == BASE + timedelta(minutes=2)
    assert columns["order_id"] == "NUMBER(38,0)"
    assert columns["total"] == "NUMBER(12,2)"
    assert columns["updated_at"] == "TIMESTAMP_NTZ"
    assert columns["extra"] == "VARIANT"


def test_query_relation_and_expressions(warehouse: Warehouse) -> None:
    source = SourceSpec(
        Relation(
            query="SELECT order_id, updated_at, customer FROM orders WHERE total > 2"
        ),
        key="order_id",
        cursor="updated_at",
        expressions=(("__expr_0", "UPPER(customer)"),),
    )

    _, flat = rows_of(warehouse, source, CursorWindow())

    assert [row["__expr_0"] for row in flat] == ["C2", "C3", "C4", "C5"]


def test_errors_hide_password(warehouse: Warehouse) -> None:
    with pytest.raises(SourceError) as table_error:
        warehouse.describe(SourceSpec(Relation(table="ordrs"), key="order_id"))
    with pytest.raises(SourceError) as column_error:
        warehouse.describe(SourceSpec(Relation(table="orders"), key="order_key"))

    assert "ordrs" in str(table_error.value)
    assert "column order_key not found in orders" in str(column_error.value)
    assert "ORDER_ID" in str(column_error.value)
    for message in (str(table_error.value), str(column_error.value), repr(warehouse)):
        assert PASSWORD not in message


def _write_key(path: Path, passphrase: str | None) -> rsa.RSAPrivateKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
    )
    return key


def test_key_pair_auth_sends_der_key(tmp_path: Path) -> None:
    """The encrypted PEM key reaches the connector as unencrypted DER bytes."""
    key = _write_key(tmp_path / "rsa_key.p8", "key-phrase-123")
    settings = snowflake_settings(
        password=None,
        private_key_path="rsa_key.p8",
        private_key_passphrase="key-phrase-123",
    )
    seen: dict[str, Any] = {}

    with fakesnow.patch():
        engine = snowflake_engine(settings, tmp_path, Redactor())
        sa.event.listen(
            engine, "do_connect", lambda _d, _r, _a, params: seen.update(params)
        )
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
        engine.dispose()

    expected = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert seen["private_key"] == expected
    assert "password" not in seen
    assert seen["account"] == "fake_account"


def test_wrong_passphrase_is_config_error(tmp_path: Path) -> None:
    _write_key(tmp_path / "rsa_key.p8", "right-phrase")

    with pytest.raises(ConfigError) as wrong:
        load_private_key(tmp_path / "rsa_key.p8", "wrong-phrase")
    with pytest.raises(ConfigError) as missing:
        load_private_key(tmp_path / "rsa_key.p8", None)
    with pytest.raises(ConfigError) as absent:
        load_private_key(tmp_path / "nope.p8", None)

    assert "passphrase" in str(wrong.value)
    assert "wrong-phrase" not in str(wrong.value)
    assert "not set" in str(missing.value)
    assert "nope.p8" in str(absent.value)


def test_password_kept_out_of_engine_url(tmp_path: Path) -> None:
    with fakesnow.patch():
        engine = snowflake_engine(snowflake_settings(), tmp_path, Redactor())
        rendered = engine.url.render_as_string(hide_password=False)
        engine.dispose()

    assert PASSWORD not in rendered

"""One end-to-end sync suite, run on DuckDB, PostgreSQL and Snowflake (fakesnow).

The demo shop is generated in DuckDB and copied into the warehouse under
test with the same column types (BIGINT ids, DECIMAL(12,2) money, naive
TIMESTAMP). The demo mapping syncs it into the stand-in, and every stored
order is compared with values computed from the shop. Then a few orders
change the way a live shop changes them, and the second run must send
exactly those.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import fakesnow
import pytest
import snowflake.connector
import sqlalchemy as sa
from pg import postgres_server, postgres_url  # noqa: F401

from connector import api, pii
from connector.demo.shop import change_some_orders, generate_shop
from connector.standin import StandIn

# fakesnow 0.12.1 reads DuckDB results through Arrow, which DuckDB 2.0 warns about.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Arrow output on a DB-API result:UserWarning"
)

REPO = Path(__file__).resolve().parents[2]
DEMO_MAPPING = REPO / "connector" / "demo" / "mapping.yaml"
ORDERS = 150
SHOP_ZONE = ZoneInfo("America/New_York")
TABLES = ("customers", "orders", "order_lines", "refunds")
SF_PASSWORD = "fakesnow-Pa55-word"

CONFIG = """\
warehouse:
{warehouse}
mapping: {mapping}
northbeam:
  base_url: {url}
  api_version: v2
  api_key: ${{NORTHBEAM_API_KEY}}
  client_id: ${{NORTHBEAM_CLIENT_ID}}
  batch_size: 100
state:
  path: state.db
sync:
  reject_file: rejects.jsonl
"""

SNOWFLAKE_BLOCK = """\
  snowflake:
    account: fake_account
    user: tester
    password: ${SF_PASSWORD}
    database: SHOP
    schema: RAW
    warehouse: WH
    role: READER
"""

# The demo mapping with every column, table and key in upper case, as a
# Snowflake user copying names from the web console would write it.
UPPER_MAPPING = """\
version: 1
orders:
  query: |
    SELECT O.*, C.EMAIL, C.PHONE, C.COUNTRY, C.ADDRESS1, C.CITY, C.ZIP
    FROM ORDERS O JOIN CUSTOMERS C ON C.CUSTOMER_ID = O.CUSTOMER_ID
  key: ORDER_ID
  cursor: UPDATED_AT
timezone: America/New_York
fields:
  order_id: ORDER_ID
  customer_id: {column: CUSTOMER_ID}
  time_of_purchase: {column: CREATED_AT}
  currency: {column: CURRENCY}
  purchase_total: {column: TOTAL_CENTS, unit: cents}
  tax: {column: TAX_CENTS, unit: cents}
  shipping_cost: {column: SHIPPING_CENTS, unit: cents}
  discount_codes: {column: DISCOUNT_CODES, split: ","}
identity:
  email: {column: EMAIL}
  phone: {column: PHONE}
  phone_region: {column: COUNTRY}
  default_region: US
shipping_address:
  address1: {column: ADDRESS1}
  city: {column: CITY}
  zip: {column: ZIP}
  country_code: {column: COUNTRY}
products:
  table: ORDER_LINES
  key: ORDER_ID
  cursor: UPDATED_AT
  fields:
    id: {column: SKU}
    name: {column: TITLE}
    quantity: {column: QUANTITY}
    price: {column: UNIT_PRICE}
refunds:
  table: REFUNDS
  key: ORDER_ID
  cursor: REFUNDED_AT
  fields:
    product_id: {column: SKU}
    quantity: {column: QUANTITY}
    refund_amount: {column: AMOUNT}
    refund_cost: {value: 0}
    refund_made_at: {column: REFUNDED_AT}
"""


# -- copying the shop into a warehouse ------------------------------------------


def shop_tables(shop: Path) -> dict[str, tuple[list[tuple[str, str]], list[Any]]]:
    """Read each shop table: its (column, DuckDB type) list and its rows."""
    tables = {}
    with closing(duckdb.connect(str(shop), read_only=True)) as con:
        for table in TABLES:
            described = con.execute(f"DESCRIBE {table}").fetchall()
            columns = [(row[0], row[1]) for row in described]
            rows = con.execute(f"SELECT * FROM {table}").fetchall()
            tables[table] = (columns, rows)
    return tables


def column_sql(columns: list[tuple[str, str]], types: dict[str, str]) -> str:
    """Render column definitions, translating DuckDB type names by prefix."""
    parts = []
    for name, type_name in columns:
        for duckdb_name, target in types.items():
            type_name = type_name.replace(duckdb_name, target)
        parts.append(f"{name} {type_name}")
    return ", ".join(parts)


def copy_to_postgres(url: str, shop: Path, tables: tuple[str, ...]) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for table, (columns, rows) in shop_tables(shop).items():
                if table not in tables:
                    continue
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
                ddl = column_sql(columns, {"DECIMAL": "NUMERIC"})
                conn.execute(sa.text(f"CREATE TABLE {table} ({ddl})"))
                names = [name for name, _ in columns]
                insert = sa.text(
                    f"INSERT INTO {table} VALUES "
                    f"({', '.join(':' + name for name in names)})"
                )
                if rows:
                    conn.execute(
                        insert, [dict(zip(names, r, strict=True)) for r in rows]
                    )
    finally:
        engine.dispose()


def copy_to_snowflake(shop: Path, tables: tuple[str, ...]) -> None:
    """Copy tables through the patched connector, as a loader would."""
    con = snowflake.connector.connect(
        account="fake_account",
        user="tester",
        password=SF_PASSWORD,
        database="SHOP",
        schema="RAW",
    )
    types = {
        "TIMESTAMP": "TIMESTAMP_NTZ",
        "DECIMAL": "NUMBER",
        "BIGINT": "NUMBER(38,0)",
    }
    with closing(con), closing(con.cursor()) as cursor:
        for table, (columns, rows) in shop_tables(shop).items():
            if table not in tables:
                continue
            cursor.execute(
                f"CREATE OR REPLACE TABLE {table} ({column_sql(columns, types)})"
            )
            marks = ", ".join(["%s"] * len(columns))
            if rows:
                cursor.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)


@dataclass
class Backend:
    """A warehouse under test: its config block and how to load the shop."""

    name: str
    block: str
    copy: Callable[[Path, tuple[str, ...]], None]


def _postgres_schema(base_url: str) -> Iterator[str]:
    schema = f"e2e_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{base_url}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture(
    params=[
        "duckdb",
        pytest.param("postgres", marks=pytest.mark.postgres),
        "snowflake",
    ]
)
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Backend]:
    if request.param == "duckdb":
        block = f"  url: duckdb:///{tmp_path / 'shop.duckdb'}\n"
        yield Backend("duckdb", block, lambda _shop, _tables: None)
    elif request.param == "postgres":
        base = request.getfixturevalue("postgres_url")
        for url in _postgres_schema(base):
            copy = functools.partial(copy_to_postgres, url)
            yield Backend("postgres", f"  url: {url}\n", copy)
    else:
        monkeypatch.setenv("SF_PASSWORD", SF_PASSWORD)
        with fakesnow.patch():
            yield Backend("snowflake", SNOWFLAKE_BLOCK, copy_to_snowflake)


@dataclass
class Sync:
    """A shop loaded into a backend, a stand-in, and the config between them."""

    shop: Path
    config: Path
    standin: StandIn
    backend: Backend

    def change_orders(self) -> set[str]:
        """Edit the shop like a live shop does; return the order ids that changed."""
        before = _latest(self.shop)
        change_some_orders(self.shop)
        self.backend.copy(self.shop, ("orders", "refunds"))
        return _changed_since(self.shop, *before)


def make_sync(
    folder: Path, backend: Backend, standin: StandIn, mapping: str | None = None
) -> Sync:
    shop = folder / "shop.duckdb"
    generate_shop(shop, orders=ORDERS)
    backend.copy(shop, TABLES)
    mapping_path = folder / "mapping.yaml"
    mapping_path.write_text(mapping or DEMO_MAPPING.read_text(), encoding="utf-8")
    config = folder / "config.yaml"
    config.write_text(
        CONFIG.format(warehouse=backend.block, mapping=mapping_path, url=standin.url),
        encoding="utf-8",
    )
    return Sync(shop, config, standin, backend)


@pytest.fixture
def sync(
    tmp_path: Path, backend: Backend, standin: StandIn, api_env: dict[str, str]
) -> Sync:
    return make_sync(tmp_path, backend, standin)


def _latest(shop: Path) -> tuple[datetime, datetime]:
    with closing(duckdb.connect(str(shop), read_only=True)) as con:
        row = con.execute(
            "SELECT (SELECT max(updated_at) FROM orders), "
            "(SELECT max(refunded_at) FROM refunds)"
        ).fetchone()
    assert row is not None
    return row[0], row[1]


def _changed_since(shop: Path, order_mark: datetime, refund_mark: datetime) -> set[str]:
    with closing(duckdb.connect(str(shop), read_only=True)) as con:
        rows = con.execute(
            "SELECT order_id FROM orders WHERE updated_at > ? UNION "
            "SELECT order_id FROM refunds WHERE refunded_at > ?",
            [order_mark, refund_mark],
        ).fetchall()
    return {row[0] for row in rows}


# -- expected orders, computed from the DuckDB shop ------------------------------


def expected_orders(shop: Path) -> dict[str, dict[str, Any]]:
    """The fields each order must arrive with, straight from the shop's tables."""
    with closing(duckdb.connect(str(shop), read_only=True)) as con:
        orders = con.execute(
            "SELECT o.order_id, o.customer_id, o.created_at, o.currency, "
            "o.total_cents, o.tax_cents, o.shipping_cents, c.email, c.phone, "
            "c.country FROM orders o JOIN customers c USING (customer_id)"
        ).fetchall()
        lines = con.execute(
            "SELECT order_id, sku, quantity, unit_price FROM order_lines"
        ).fetchall()
        refunds = con.execute("SELECT order_id, sku, amount FROM refunds").fetchall()

    expected: dict[str, dict[str, Any]] = {}
    for (
        oid,
        customer,
        created,
        currency,
        total,
        tax,
        shipping,
        email,
        phone,
        country,
    ) in orders:
        expected[oid] = {
            "customer_id": str(customer),
            "time_of_purchase": created.replace(tzinfo=SHOP_ZONE),
            "currency": currency,
            "purchase_total": Decimal(total) / 100,
            "tax": Decimal(tax) / 100,
            "shipping_cost": Decimal(shipping) / 100,
            "hashed_customer_email": _email_hash(email),
            "hashed_customer_phone_number": _phone_hash(phone, country),
            "products": {},
            "refunds": [],
        }
    for oid, sku, quantity, price in lines:
        expected[oid]["products"][sku] = (quantity, price)
    for oid, sku, amount in refunds:
        expected[oid]["refunds"].append((sku, amount))
    return expected


def _email_hash(raw: str | None) -> str | None:
    normalized = pii.normalize_email(raw)
    if normalized is None or not pii.is_sendable_email(normalized):
        return None
    return pii.sha256_hex(normalized)


def _phone_hash(raw: str | None, country: str) -> str | None:
    e164 = pii.normalize_phone(raw, country)
    return None if e164 is None else pii.sha256_hex(e164)


def assert_stored_exactly(stored: dict[str, dict[str, Any]], shop: Path) -> None:
    """Every order arrived once, with exact money, time, items and identities."""
    expected = expected_orders(shop)
    assert set(stored) == set(expected)
    for order_id, want in expected.items():
        got = stored[order_id]
        assert got["customer_id"] == want["customer_id"], order_id
        assert (
            datetime.fromisoformat(got["time_of_purchase"]) == want["time_of_purchase"]
        )
        assert got["currency"] == want["currency"], order_id
        for money in ("purchase_total", "tax", "shipping_cost"):
            assert Decimal(str(got[money])) == want[money], (order_id, money)
        for identity in ("hashed_customer_email", "hashed_customer_phone_number"):
            assert got.get(identity) == want[identity], (order_id, identity)
        assert "customer_email" not in got
        products = {
            p["id"]: (p["quantity"], Decimal(str(p["price"]))) for p in got["products"]
        }
        assert products == want["products"], order_id
        refunds = [
            (r["product_id"], Decimal(str(r["refund_amount"])))
            for r in got.get("refunds", [])
        ]
        assert sorted(refunds) == sorted(want["refunds"]), order_id


# -- the suite ------------------------------------------------------------------


def test_first_run_stores_every_order(sync: Sync) -> None:
    summary = api.sync(sync.config)

    assert summary.mode == "initial"
    assert summary.rows_read == ORDERS
    assert summary.orders_sent == ORDERS
    assert summary.rejected == 0
    assert summary.with_hashed_email > 0
    assert summary.with_hashed_phone > 0
    assert_stored_exactly(sync.standin.orders("v2"), sync.shop)


def test_second_run_sends_only_changes(sync: Sync) -> None:
    api.sync(sync.config)
    changed = sync.change_orders()

    second = api.sync(sync.config)
    third = api.sync(sync.config)

    counts = sync.standin.write_counts("v2")
    assert len(changed) >= 5
    assert second.orders_sent == len(changed)
    assert {oid for oid, count in counts.items() if count == 2} == changed
    assert set(counts.values()) == {1, 2}
    assert third.orders_sent == 0
    assert_stored_exactly(sync.standin.orders("v2"), sync.shop)


def test_check_and_preview(sync: Sync) -> None:
    lines = api.check(sync.config)
    previews = api.preview(sync.config, 3)

    assert any(line.startswith("credentials accepted by 127.0.0.1") for line in lines)
    assert "orders: 15 columns found" in lines
    assert "products: 6 columns found" in lines
    assert "refunds: 5 columns found" in lines
    assert [item["order_id"] for item in previews] == [
        "D-100001",
        "D-100002",
        "D-100003",
    ]
    for item in previews:
        assert item["customer_shipping_address"]["address1"] == "<masked>"
    assert sync.standin.order_count("v2") == 0


def test_snowflake_upper_case_mapping(
    tmp_path: Path,
    standin: StandIn,
    api_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Upper-case names in the mapping match Snowflake's folded names."""
    monkeypatch.setenv("SF_PASSWORD", SF_PASSWORD)
    with fakesnow.patch():
        backend = Backend("snowflake", SNOWFLAKE_BLOCK, copy_to_snowflake)
        sync = make_sync(tmp_path, backend, standin, UPPER_MAPPING)
        lines = api.check(sync.config)
        summary = api.sync(sync.config)
        changed = sync.change_orders()
        second = api.sync(sync.config)

    assert "orders: 15 columns found" in lines
    assert summary.orders_sent == ORDERS
    assert second.orders_sent == len(changed)
    assert_stored_exactly(standin.orders("v2"), sync.shop)

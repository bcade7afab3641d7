"""The shipped mapping files, run against DuckDB tables."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from connector.mapping import OrderMapper, load_mapping
from connector.records import MappedOrder
from connector.source.spec import Relation, SourceSpec
from connector.validate import OrderValidator

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
JAFFLE = SHARED / "data" / "jaffle-shop" / "new"


def select(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> list[dict[str, Any]]:
    """Read a spec's rows the way the source does: lowercased keys, expressions."""
    relation = spec.relation.table or f"({spec.relation.query})"
    extra = "".join(f", {sql} as {alias}" for alias, sql in spec.expressions)
    cursor = con.execute(f"select *{extra} from {relation} as source")
    names = [column[0].lower() for column in cursor.description]
    rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    if spec.cursor is not None:
        for row in rows:
            row["__cursor"] = row[spec.cursor]
    return rows


@pytest.fixture(scope="module")
def jaffle() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    for name in ("customers", "orders", "items", "products", "stores"):
        con.execute(
            f"create table raw_{name} as select * from read_csv(?, header=true)",
            [str(JAFFLE / f"raw_{name}.csv")],
        )
    yield con
    con.close()


@pytest.fixture(scope="module")
def jaffle_orders(jaffle: duckdb.DuckDBPyConnection) -> dict[str, MappedOrder]:
    mapper = OrderMapper(load_mapping(MAPPINGS / "jaffle_shop.yaml", "v1"))
    spec = mapper.child_specs["products"]
    items: dict[str, list[dict[str, Any]]] = {}
    for row in select(jaffle, spec):
        items.setdefault(str(row[spec.key]), []).append(row)

    orders: dict[str, MappedOrder] = {}
    for row in select(jaffle, mapper.orders_spec):
        key = str(row[mapper.orders_spec.key])
        result = mapper.map(row, {"products": items.get(key, [])})
        assert isinstance(result, MappedOrder), result
        orders[key] = result
    return orders


def test_jaffle_maps_every_order(jaffle_orders: dict[str, MappedOrder]) -> None:
    assert len(jaffle_orders) == 223


def test_jaffle_order_document(jaffle_orders: dict[str, MappedOrder]) -> None:
    order = jaffle_orders["9bed808a-5074-4dfb-b1eb-388e2e60a6da"]
    assert order.document == {
        "order_id": "9bed808a-5074-4dfb-b1eb-388e2e60a6da",
        "customer_id": "50a2d1c4-d788-4498-a6f7-dd75d4db588f",
        "time_of_purchase": "2024-09-01T15:01:00-04:00",
        "currency": "USD",
        "purchase_total": Decimal("7.42"),
        "tax": Decimal("0.42"),
        "customer_name": "Stephanie Love",
        # The product name ends in a space in raw_products; names are trimmed.
        "products": [
            {
                "id": "BEV-004",
                "name": "for richer or pourover",
                "quantity": 1,
                "price": Decimal("7.00"),
            }
        ],
    }


def test_jaffle_counts_units_per_sku(jaffle_orders: dict[str, MappedOrder]) -> None:
    order = jaffle_orders["3cd8c16e-ba1a-4e32-9fec-2bf03997e063"]
    quantities = {p["id"]: p["quantity"] for p in order.document["products"]}
    assert quantities["BEV-001"] == 2


def test_jaffle_products_add_up_to_subtotal(
    jaffle: duckdb.DuckDBPyConnection, jaffle_orders: dict[str, MappedOrder]
) -> None:
    subtotals = dict(jaffle.execute("select id, subtotal from raw_orders").fetchall())
    for key, order in jaffle_orders.items():
        total = sum(p["price"] * p["quantity"] for p in order.document["products"])
        assert total * 100 == subtotals[key]


def test_jaffle_orders_validate_except_empty_ones(
    jaffle_orders: dict[str, MappedOrder],
) -> None:
    """Three orders of the excerpt have no items; the API needs a product."""
    validator = OrderValidator("v1")
    rejects = {
        key: validator.check(key, order.document)
        for key, order in jaffle_orders.items()
    }
    failed = {key: reject for key, reject in rejects.items() if reject is not None}
    assert len(failed) == 3
    assert "e0b8f516-92e5-45aa-93eb-ed2971d4441e" in failed
    assert {reject.field_path for reject in failed.values()} == {"$.products"}


SHOPIFY_TABLES = """
create table shopify__order_lines (
    order_line_id bigint, order_id bigint, product_id bigint, variant_id bigint,
    title varchar, variant_title varchar, quantity integer, price double,
    _fivetran_synced timestamp);
create table stg_shopify__refund (
    refund_id bigint, order_id bigint, created_at timestamp, processed_at timestamp);
create table stg_shopify__order_line_refund (
    order_line_refund_id bigint, order_line_id bigint, refund_id bigint,
    quantity integer, subtotal double, total_tax double);
insert into shopify__order_lines values
    (1, 4500000000001, 700, 9000000000001, 'Tee', 'Blue / M', 2, 19.99, now()),
    (2, 4500000000001, null, null, 'Gone', null, 1, 5.0, now());
insert into stg_shopify__refund values (30, 4500000000001, '2024-09-03 10:00', null);
insert into stg_shopify__order_line_refund values (40, 1, 30, 1, 19.99, 1.6);
"""


def test_shopify_child_queries_run_on_duckdb() -> None:
    mapper = OrderMapper(load_mapping(MAPPINGS / "shopify_fivetran.yaml", "v2"))
    con = duckdb.connect()
    con.execute(SHOPIFY_TABLES)
    # The model name resolves to a table through the dbt manifest; here the
    # table carries the model's name.
    model_spec = mapper.child_specs["products"]
    assert model_spec.relation.model == "shopify__order_lines"
    products_spec = replace(model_spec, relation=Relation(table="shopify__order_lines"))
    products = select(con, products_spec)
    refunds = select(con, mapper.child_specs["refunds"])
    con.close()

    row = {
        "order_id": 4500000000001,
        "updated_timestamp": None,
        "created_timestamp": None,
        "__expr_0": "guest-4500000000001",
        "processed_timestamp": "2024-09-01 14:00:00",
        "currency": "usd",
        "total_price": 45.58,
        "total_tax": 3.2,
        "shipping_cost": None,
        "total_discounts": 0.0,
        "order_tags": "vip, wholesale",
        "shipping_address_name": "Jane Doe",
        "email": "marker-8812@example.com",
        "shipping_address_phone": None,
        "shipping_address_country_code": "CA",
        "shipping_address_address_1": "1 Main St",
        "shipping_address_address_2": None,
        "shipping_address_city": "Toronto",
        "shipping_address_province_code": "ON",
        "shipping_address_zip": "M5V 2T6",
    }
    order = mapper.map(row, {"products": products, "refunds": refunds})
    assert isinstance(order, MappedOrder), order
    document = order.document
    assert document["customer_shipping_address"]["country_code"] == "CAN"
    assert document["shipping_cost"] == Decimal("0")
    assert [p["id"] for p in document["products"]] == ["9000000000001", "line-2"]
    assert document["refunds"][0]["product_id"] == "9000000000001"
    assert document["refunds"][0]["refund_amount"] == Decimal("21.59")
    assert OrderValidator("v2").check(order.key, document) is None

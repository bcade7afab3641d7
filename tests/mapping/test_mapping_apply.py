"""Applying a mapping to rows: documents, identities and mapping rejects."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connector.errors import MappingError
from connector.mapping import OrderMapper, load_mapping
from connector.records import MappedOrder, Reject

Writer = Callable[[str], Path]
MARKER_EMAIL = "marker-5521@example.com"


def order_row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": 1001,
        "updated_at": datetime(2024, 9, 2, 8, 0),
        "__cursor": datetime(2024, 9, 2, 8, 0),
        "customer": Decimal("77"),
        "ordered_at": datetime(2024, 9, 1, 15, 1),
        "total_cents": 1999,
        "tax": Decimal("1.20"),
        "codes": "SPRING, VIP,SPRING",
        "__expr_0": None,
        "name": "Jane Doe",
        "recurring": None,
        "email": MARKER_EMAIL,
        "phone": "415-555-2671",
        "country": "us",
        "city": "Philadelphia",
        "zip": "19103",
    }
    row.update(changes)
    return row


def item_row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "order_id": 1001,
        "sku": "JAF-001",
        "title": "nutellaphone who dis?",
        "qty": 2,
        "price": 1100,
    }
    row.update(changes)
    return row


@pytest.fixture
def mapper(write_mapping: Writer, base_mapping: str) -> OrderMapper:
    return OrderMapper(load_mapping(write_mapping(base_mapping), "v1"))


def mapped(result: MappedOrder | Reject) -> MappedOrder:
    assert isinstance(result, MappedOrder), result
    return result


def rejected(result: MappedOrder | Reject) -> Reject:
    assert isinstance(result, Reject), result
    return result


def test_maps_order_document(mapper: OrderMapper) -> None:
    order = mapped(mapper.map(order_row(), {"products": [item_row()]}))
    assert order.key == "1001"
    assert order.cursor == datetime(2024, 9, 2, 8, 0)
    assert order.document == {
        "order_id": "1001",
        "customer_id": "77",
        "time_of_purchase": "2024-09-01T15:01:00-04:00",
        "currency": "USD",
        "purchase_total": Decimal("19.99"),
        "tax": Decimal("1.20"),
        "discount_codes": ["SPRING", "VIP"],
        "customer_name": "Jane Doe",
        "is_recurring_order": False,
        "customer_shipping_address": {
            "city": "Philadelphia",
            "zip": "19103",
            "country_code": "USA",
        },
        "products": [
            {
                "id": "JAF-001",
                "name": "nutellaphone who dis?",
                "quantity": 2,
                "price": Decimal("11.00"),
            }
        ],
    }


def test_identity_is_filled_but_never_in_document(mapper: OrderMapper) -> None:
    order = mapped(mapper.map(order_row(), {"products": [item_row()]}))
    assert order.identity.email == MARKER_EMAIL
    assert order.identity.phone == "415-555-2671"
    assert order.identity.phone_region == "US"
    assert MARKER_EMAIL not in repr(order.document)
    assert "415-555-2671" not in repr(order.document)


def test_null_optional_field_is_omitted(mapper: OrderMapper) -> None:
    order = mapped(
        mapper.map(order_row(name=None, codes=" , "), {"products": [item_row()]})
    )
    assert "customer_name" not in order.document
    assert "discount_codes" not in order.document
    assert None not in order.document.values()


def test_sql_expression_value_is_read_from_alias(mapper: OrderMapper) -> None:
    order = mapped(
        mapper.map(order_row(__expr_0="returned"), {"products": [item_row()]})
    )
    assert order.document["order_tags"] == ["returned"]


def test_default_replaces_null(mapper: OrderMapper) -> None:
    order = mapped(mapper.map(order_row(recurring="yes"), {"products": [item_row()]}))
    assert order.document["is_recurring_order"] is True
    order = mapped(mapper.map(order_row(recurring=None), {"products": [item_row()]}))
    assert order.document["is_recurring_order"] is False


def test_null_required_field_is_rejected_with_path(mapper: OrderMapper) -> None:
    reject = rejected(
        mapper.map(order_row(total_cents=None), {"products": [item_row()]})
    )
    assert reject.stage == "mapping"
    assert reject.order_key == "1001"
    assert reject.order_id == "1001"
    assert reject.field_path == "$.purchase_total"
    assert reject.reason.startswith("purchase_total is NULL in column total_cents.")
    assert "line 12" in reject.reason


def test_null_product_price_is_rejected_with_path(mapper: OrderMapper) -> None:
    items = [item_row(sku="A"), item_row(sku="B"), item_row(sku="C", price=None)]
    reject = rejected(mapper.map(order_row(), {"products": items}))
    assert reject.field_path == "$.products[2].price"
    assert "products[2].price is NULL in column price" in reject.reason


def test_all_problems_of_an_order_are_listed(mapper: OrderMapper) -> None:
    reject = rejected(
        mapper.map(order_row(customer=None), {"products": [item_row(qty=None)]})
    )
    assert reject.field_path == "$.customer_id"
    assert "customer_id is NULL" in reject.reason
    assert "products[0].quantity is NULL" in reject.reason


def test_unconvertible_value_reject_hides_value(mapper: OrderMapper) -> None:
    reject = rejected(
        mapper.map(
            order_row(total_cents=MARKER_EMAIL, email=True), {"products": [item_row()]}
        )
    )
    assert reject.field_path == "$.purchase_total"
    assert "is text that is not a number" in reject.reason
    assert "identity.email in column email is a bool, not text" in reject.reason
    assert "marker-5521" not in reject.reason


def test_null_order_key_is_rejected(mapper: OrderMapper) -> None:
    reject = rejected(mapper.map(order_row(id=None), {"products": [item_row()]}))
    assert reject.order_key == ""
    assert "order key column id is NULL" in reject.reason


def test_products_are_sorted_by_id(mapper: OrderMapper) -> None:
    items = [item_row(sku="B"), item_row(sku="A")]
    order = mapped(mapper.map(order_row(), {"products": items}))
    assert [p["id"] for p in order.document["products"]] == ["A", "B"]


def test_order_without_child_rows_has_empty_products(mapper: OrderMapper) -> None:
    order = mapped(mapper.map(order_row(), {}))
    assert order.document["products"] == []


def test_address_is_omitted_when_all_columns_null(mapper: OrderMapper) -> None:
    order = mapped(
        mapper.map(
            order_row(city=None, zip=None, country=None), {"products": [item_row()]}
        )
    )
    assert "customer_shipping_address" not in order.document
    assert mapper.stats.addresses_incomplete == 0


def test_address_without_zip_is_omitted_and_counted(mapper: OrderMapper) -> None:
    order = mapped(mapper.map(order_row(zip=None), {"products": [item_row()]}))
    assert "customer_shipping_address" not in order.document
    assert mapper.stats.addresses_incomplete == 1


def test_missing_column_in_first_row_raises(mapper: OrderMapper) -> None:
    row = order_row()
    del row["total_cents"]
    with pytest.raises(MappingError) as caught:
        mapper.map(row, {"products": [item_row()]})
    assert caught.value.line == 12
    assert "column total_cents is not in the rows read for orders" in str(caught.value)


def test_missing_child_column_raises(mapper: OrderMapper) -> None:
    item = item_row()
    del item["qty"]
    with pytest.raises(MappingError) as caught:
        mapper.map(order_row(), {"products": [item]})
    assert caught.value.line == 32


JSON_PRODUCTS = """\
  column: Line_Items
  fields:
    id: {column: SKU}
    name: {column: title}
    quantity: {column: qty, default: 1}
    price: {column: price}
"""


@pytest.fixture
def json_mapper(write_mapping: Writer, base_mapping: str) -> OrderMapper:
    head = base_mapping[: base_mapping.index("  table: items")]
    return OrderMapper(load_mapping(write_mapping(head + JSON_PRODUCTS), "v1"))


def test_products_from_json_text_column(json_mapper: OrderMapper) -> None:
    assert json_mapper.child_specs == {}
    text = (
        '[{"SKU": 12, "Title": "Tee", "price": 19.99},'
        ' {"sku": "B", "title": "Cap", "qty": 3, "price": "5"}]'
    )
    order = mapped(json_mapper.map(order_row(line_items=text), {}))
    assert order.document["products"] == [
        {"id": "12", "name": "Tee", "quantity": 1, "price": Decimal("19.99")},
        {"id": "B", "name": "Cap", "quantity": 3, "price": Decimal("5")},
    ]


def test_products_from_python_list_column(json_mapper: OrderMapper) -> None:
    items = [{"sku": "A", "title": "Tee", "price": Decimal("10")}]
    order = mapped(json_mapper.map(order_row(line_items=items), {}))
    assert order.document["products"][0]["id"] == "A"


def test_json_item_without_price_is_rejected(json_mapper: OrderMapper) -> None:
    text = '[{"sku": "A", "title": "Tee", "price": 1}, {"sku": "B", "title": "Cap"}]'
    reject = rejected(json_mapper.map(order_row(line_items=text), {}))
    assert reject.field_path == "$.products[1].price"


def test_invalid_json_column_is_rejected(json_mapper: OrderMapper) -> None:
    reject = rejected(json_mapper.map(order_row(line_items="[{oops"), {}))
    assert reject.field_path == "$.products"
    assert "not valid JSON" in reject.reason


def test_json_column_lists_as_order_column(json_mapper: OrderMapper) -> None:
    columns = json_mapper.referenced_columns()
    assert any(name == "line_items" for name, _ in columns["orders"])
    assert "products" not in columns


REFUNDS = """\
refunds:
  query: "select * from refunds"
  key: order_id
  cursor: refunded_at
  fields:
    product_id: {column: sku}
    quantity: {column: qty}
    refund_amount: {column: amount, unit: cents}
    refund_cost: {value: 0}
    refund_made_at: {column: refunded_at, timezone: UTC}
"""


def test_refunds_are_mapped(write_mapping: Writer, base_mapping: str) -> None:
    mapper = OrderMapper(load_mapping(write_mapping(base_mapping + REFUNDS), "v1"))
    assert mapper.child_specs["refunds"].cursor == "refunded_at"
    refund = {
        "order_id": 1001,
        "sku": "JAF-001",
        "qty": 1,
        "amount": 1100,
        "refunded_at": datetime(2024, 9, 3, 12, 0),
    }
    order = mapped(
        mapper.map(order_row(), {"products": [item_row()], "refunds": [refund]})
    )
    assert order.document["refunds"] == [
        {
            "product_id": "JAF-001",
            "quantity": 1,
            "refund_amount": Decimal("11.00"),
            "refund_cost": Decimal("0"),
            "refund_made_at": "2024-09-03T12:00:00+00:00",
        }
    ]
    order = mapped(mapper.map(order_row(), {"products": [item_row()]}))
    assert "refunds" not in order.document


def test_values_translate_source_values(
    write_mapping: Writer, base_mapping: str
) -> None:
    text = base_mapping.replace(
        "{column: recurring, default: false}",
        "{column: recurring, values: {subscription: true, one_time: false, 7: true}}",
    )
    mapper = OrderMapper(load_mapping(write_mapping(text), "v1"))
    cases = {"subscription": True, "one_time": False, 7: True, Decimal("7"): True}
    for raw, expected in cases.items():
        order = mapped(mapper.map(order_row(recurring=raw), {"products": [item_row()]}))
        assert order.document["is_recurring_order"] is expected
    reject = rejected(
        mapper.map(order_row(recurring="gift"), {"products": [item_row()]})
    )
    assert reject.field_path == "$.is_recurring_order"


def test_type_date_truncates_timestamp(
    write_mapping: Writer, base_mapping: str
) -> None:
    text = base_mapping.replace(
        "{column: ordered_at}", "{column: ordered_at, type: date}"
    )
    mapper = OrderMapper(load_mapping(write_mapping(text), "v1"))
    order = mapped(mapper.map(order_row(), {"products": [item_row()]}))
    assert order.document["time_of_purchase"] == "2024-09-01T00:00:00-04:00"


def test_big_numeric_ids_keep_every_digit(mapper: OrderMapper) -> None:
    big = Decimal("98765432109876543210987654321")
    customer = Decimal("98765432109876543210987654322")
    row = order_row(id=big, customer=customer)
    order = mapped(mapper.map(row, {"products": [item_row(sku=big)]}))
    assert order.document["order_id"] == "98765432109876543210987654321"
    assert order.document["customer_id"] == "98765432109876543210987654322"
    assert order.document["products"][0]["id"] == "98765432109876543210987654321"

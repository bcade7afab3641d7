"""Type names, type classes and rows built from cursor descriptions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connector.source.columns import (
    describe_columns,
    row_builder,
    timestamp_awareness,
    value_kind,
)


@pytest.mark.parametrize(
    ("type_name", "kind"),
    [
        ("BIGINT", "integer"),
        ("HUGEINT", "integer"),
        ("UBIGINT", "integer"),
        ("int4", "integer"),
        ("NUMBER(38,0)", "integer"),
        ("numeric(12,0)", "integer"),
        ("NUMBER(12,2)", "decimal"),
        ("numeric", "decimal"),
        ("DECIMAL(18,3)", "decimal"),
        ("VARCHAR", "text"),
        ("text", "text"),
        ("character varying(20)", "text"),
        ("uuid", None),
        ("TIMESTAMP", None),
        ("DATE", None),
    ],
)
def test_value_kind(type_name: str, kind: str | None) -> None:
    assert value_kind(type_name) == kind


@pytest.mark.parametrize(
    ("type_name", "aware"),
    [
        ("timestamptz", True),
        ("TIMESTAMP WITH TIME ZONE", True),
        ("TIMESTAMP_TZ", True),
        ("TIMESTAMP_LTZ", True),
        ("timestamp", False),
        ("TIMESTAMP", False),
        ("TIMESTAMP_NTZ", False),
        ("TIMESTAMP_NS", False),
        ("DATE", None),
        ("BIGINT", None),
    ],
)
def test_timestamp_awareness(type_name: str, aware: bool | None) -> None:
    assert timestamp_awareness(type_name) is aware


def test_snowflake_row_conversion() -> None:
    """VARIANT text is parsed with exact decimals, and NUMBER(38,0) stays int."""
    description = [
        ("ORDER_ID", 0, None, None, 38, 0, True),
        ("ITEMS", 10, None, None, None, None, True),
        ("DOC", 5, None, None, None, None, True),
        ("TOTAL", 0, None, None, 12, 2, True),
    ]
    build = row_builder("snowflake", description)

    row = build(
        (Decimal("9007199254740993"), '[{"price": 1.10}]', None, Decimal("3.25"))
    )

    assert row == {
        "order_id": 9007199254740993,
        "items": [{"price": Decimal("1.10")}],
        "doc": None,
        "total": Decimal("3.25"),
    }
    assert type(row["order_id"]) is int
    names = [column.type_name for column in describe_columns("snowflake", description)]
    assert names == ["NUMBER(38,0)", "ARRAY", "VARIANT", "NUMBER(12,2)"]


def test_other_dialects_only_lowercase_keys() -> None:
    build = row_builder("duckdb", [("Order_ID", "BIGINT"), ("Doc", "VARCHAR")])

    assert build((1, '{"a": 1}')) == {"order_id": 1, "doc": '{"a": 1}'}

"""Parsing, matching and quoting of names written in the mapping."""

from __future__ import annotations

import pytest

from connector.errors import SourceError
from connector.source.identifiers import (
    Identifier,
    check_alias,
    match_column,
    parse_table_name,
    render_table_name,
)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("orders", [("orders", False)]),
        ("raw.orders", [("raw", False), ("orders", False)]),
        ("DB.RAW.ORDERS", [("DB", False), ("RAW", False), ("ORDERS", False)]),
        ('"My DB"."raw"."Orders"', [("My DB", True), ("raw", True), ("Orders", True)]),
        ('raw."Say ""hi"""', [("raw", False), ('Say "hi"', True)]),
        ("  orders_2024$  ", [("orders_2024$", False)]),
    ],
)
def test_parse_table_name_accepts(text: str, parts: list[tuple[str, bool]]) -> None:
    assert parse_table_name(text) == tuple(Identifier(*part) for part in parts)


@pytest.mark.parametrize(
    "text",
    [
        "orders; drop table x",
        "a.b.c.d",
        "",
        "1orders",
        "a..b",
        'a"b',
        "orders -- x",
        '""',
    ],
)
def test_parse_table_name_rejects(text: str) -> None:
    with pytest.raises(SourceError, match="not a valid identifier") as caught:
        parse_table_name(text)

    assert caught.value.retryable is False


def test_render_keeps_plain_parts_unquoted() -> None:
    """Plain names stay unquoted so the warehouse folds their case."""
    parts = parse_table_name('analytics."Mixed Case".orders')

    assert render_table_name(parts) == 'analytics."Mixed Case".orders'


def test_match_column_exact_and_case_insensitive() -> None:
    columns = ["ORDER_ID", "Updated_At", "status"]

    assert match_column("ORDER_ID", columns, "orders") == "ORDER_ID"
    assert match_column("order_id", columns, "orders") == "ORDER_ID"
    assert match_column("UPDATED_AT", columns, "orders") == "Updated_At"


def test_match_column_quoted_needs_exact_case() -> None:
    columns = ["OrderId"]

    assert match_column('"OrderId"', columns, "orders") == "OrderId"
    with pytest.raises(SourceError, match="not found"):
        match_column('"orderid"', columns, "orders")


def test_match_column_ambiguous_case() -> None:
    with pytest.raises(SourceError, match="ambiguous") as caught:
        match_column("Id", ["id", "ID"], "orders")

    assert '"id"' in str(caught.value)
    assert match_column("id", ["id", "ID"], "orders") == "id"


def test_match_column_not_found_lists_near_names() -> None:
    with pytest.raises(SourceError) as caught:
        match_column("ordered_on", ["ORDERED_AT", "ORDER_ID", "TOTAL"], "raw.orders")

    message = str(caught.value)
    assert "column ordered_on not found in raw.orders" in message
    assert "Did you mean ORDERED_AT" in message
    assert "TOTAL" not in message


def test_check_alias() -> None:
    assert check_alias("__expr_0") == "__expr_0"
    with pytest.raises(SourceError):
        check_alias('x" FROM secrets --')

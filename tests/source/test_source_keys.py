"""Key values converted to the key column's type."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest

from connector.source.keys import prepare_keys


@pytest.mark.parametrize(
    ("type_name", "keys", "expected"),
    [
        ("BIGINT", ["1", 2, " 3 ", "x", "1.5", None, "1"], [1, 2, 3]),
        ("int8", ["9007199254740993"], [9007199254740993]),
        ("NUMBER(38,0)", ["9007199254740993", Decimal("4")], [9007199254740993, 4]),
        ("HUGEINT", ["170141183460469231731687303715884105727"], [2**127 - 1]),
        ("VARCHAR", [1, "2", 1], ["1", "2"]),
        ("character varying(20)", [10], ["10"]),
        ("DECIMAL(12,2)", ["1.50", 2], [Decimal("1.50"), Decimal("2")]),
        ("integer", [True, 1], [1]),
    ],
)
def test_prepare_keys_converts(
    type_name: str, keys: list[object], expected: list[object]
) -> None:
    prepared = prepare_keys(keys, type_name, as_text=True)

    assert prepared.values == expected
    assert prepared.compare_text is False


def test_text_keys_for_other_types_compare_as_text() -> None:
    key = UUID("9bed808a-5074-4dfb-b1eb-388e2e60a6da")

    as_text = prepare_keys([str(key), str(key)], "uuid", as_text=True)
    native = prepare_keys([key], "uuid", as_text=False)

    assert as_text.values == [str(key)]
    assert as_text.compare_text is True
    assert native.values == [key]
    assert native.compare_text is False

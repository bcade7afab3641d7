"""Fixtures for mapping tests: a valid mapping file to start from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

# Line numbers matter: tests point at lines of this text.
BASE_MAPPING = """\
version: 1
orders:
  table: orders
  key: ID
  cursor: Updated_At
timezone: America/New_York
fields:
  order_id: id
  customer_id: {column: customer}
  time_of_purchase: {column: ordered_at}
  currency: {value: USD}
  purchase_total: {column: total_cents, unit: cents}
  tax: {column: tax, unit: major}
  discount_codes: {column: codes, split: ","}
  order_tags: {sql: "case when status = 'returned' then 'returned' end"}
  customer_name: {column: name}
  is_recurring_order: {column: recurring, default: false}
identity:
  email: {column: email}
  phone: {column: phone}
  phone_region: {column: country}
shipping_address:
  city: {column: city}
  zip: {column: zip}
  country_code: {column: country}
products:
  table: items
  key: order_id
  fields:
    id: {column: sku}
    name: {column: title}
    quantity: {column: qty}
    price: {column: price, unit: cents}
"""


@pytest.fixture
def base_mapping() -> str:
    """Text of a valid v1 mapping; see BASE_MAPPING for its line numbers."""
    return BASE_MAPPING


@pytest.fixture
def write_mapping(tmp_path: Path) -> Callable[[str], Path]:
    """Return a function that writes mapping text to a file and returns its path."""

    def write(text: str) -> Path:
        path = tmp_path / "mapping.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write

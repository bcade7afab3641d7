"""Orders sources that return one order key in several rows."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from connector import api
from connector.pipeline import RunOptions
from connector.standin import StandIn

MAPPING = """
version: 1
orders:
  query: |
    select o.*, t.tag from orders o left join tags t using (order_id)
  key: order_id
  cursor: updated_at
fields:
  order_id: order_id
  customer_id: customer_id
  time_of_purchase: updated_at
  currency: {value: USD}
  purchase_total: {column: total_cents, unit: cents}
  tax: {value: 0}
products:
  table: items
  key: order_id
  fields:
    id: sku
    name: sku
    quantity: {value: 1}
    price: {column: total_cents, unit: cents}
"""


def _shop(folder: Path) -> None:
    con = duckdb.connect(str(folder / "shop.duckdb"))
    try:
        con.execute(
            "CREATE TABLE orders AS SELECT * FROM (VALUES "
            "('A', 'c1', TIMESTAMP '2024-01-01 10:00', 1000), "
            "('B', 'c2', TIMESTAMP '2024-01-01 10:00', 2000)) "
            "t(order_id, customer_id, updated_at, total_cents)"
        )
        # Two tags on B: the join returns B twice.
        con.execute(
            "CREATE TABLE tags AS SELECT * FROM (VALUES ('B', 'x'), ('B', 'y')) "
            "t(order_id, tag)"
        )
        con.execute(
            "CREATE TABLE items AS SELECT * FROM (VALUES ('A', 'sku-a', 1000), "
            "('B', 'sku-b', 2000)) t(order_id, sku, total_cents)"
        )
    finally:
        con.close()


def _write_config(folder: Path, api_url: str) -> Path:
    (folder / "mapping.yaml").write_text(MAPPING, encoding="utf-8")
    config = folder / "config.yaml"
    config.write_text(
        f"""
warehouse: {{url: "duckdb:///{folder / "shop.duckdb"}"}}
mapping: mapping.yaml
northbeam:
  base_url: {api_url}
  api_key: ${{NORTHBEAM_API_KEY}}
  client_id: ${{NORTHBEAM_CLIENT_ID}}
state: {{path: state.db}}
sync: {{reject_file: rejects.jsonl, max_reject_ratio: 1}}
""",
        encoding="utf-8",
    )
    return config


def test_duplicated_order_reported_not_sent(
    tmp_path: Path, standin: StandIn, api_env: dict[str, str]
) -> None:
    """A join that repeats an order rejects it once; the others still go."""
    _shop(tmp_path)
    config = _write_config(tmp_path, standin.url)

    summary = api.sync(config)

    rejects = [
        json.loads(line)
        for line in (tmp_path / "rejects.jsonl").read_text().splitlines()
    ]
    assert set(standin.orders()) == {"A"}
    assert summary.rejected == 1
    assert summary.unchanged == 0
    assert [r["order_key"] for r in rejects] == ["B"]
    assert "one row per order_id" in rejects[0]["reason"]


def test_duplicated_order_counted_once_per_run(
    tmp_path: Path, standin: StandIn, api_env: dict[str, str]
) -> None:
    """Retried by key and read again in a full refresh, it is one reject."""
    _shop(tmp_path)
    config = _write_config(tmp_path, standin.url)
    api.sync(config)

    again = api.sync(config, RunOptions(full_refresh=True))

    assert again.rejected + again.still_rejected == 1
    assert again.orders_sent == 1


def test_duplicated_order_with_null_cursor_counted_once(
    tmp_path: Path, standin: StandIn, api_env: dict[str, str]
) -> None:
    """The retry and the NULL-cursor pass both read it; one reject."""
    _shop(tmp_path)
    con = duckdb.connect(str(tmp_path / "shop.duckdb"))
    con.execute("UPDATE orders SET updated_at = NULL WHERE order_id = 'B'")
    con.close()
    config = _write_config(tmp_path, standin.url)
    first = api.sync(config)

    again = api.sync(config)

    keys = [
        json.loads(line)["order_key"]
        for line in (tmp_path / "rejects.jsonl").read_text().splitlines()
    ]
    assert first.rejected == 1
    assert again.rejected + again.still_rejected == 1
    assert keys == ["B"]

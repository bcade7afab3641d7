"""The jaffle-shop sample data synced end to end into the stand-in."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from testdata import load_jaffle

from connector import api
from connector.config import load_settings
from connector.standin import StandIn

REPO = Path(__file__).resolve().parents[2]
NEW_YORK = ZoneInfo("America/New_York")
EMPTY_ORDERS = 3


def _write_config(folder: Path, url: str) -> Path:
    config = folder / "config.yaml"
    config.write_text(
        f"""
warehouse:
  url: duckdb:///{folder / "jaffle.duckdb"}
mapping: {REPO / "mappings" / "jaffle_shop.yaml"}
northbeam:
  base_url: {url}
  api_key: ${{NORTHBEAM_API_KEY}}
  client_id: ${{NORTHBEAM_CLIENT_ID}}
  batch_size: 50
state:
  path: state.db
sync:
  reject_file: rejects.jsonl
""",
        encoding="utf-8",
    )
    return config


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def jaffle_sync(
    tmp_path: Path, jaffle_dir: Path, standin: StandIn, api_env: dict[str, str]
) -> tuple[Path, StandIn]:
    load_jaffle(tmp_path / "jaffle.duckdb", jaffle_dir)
    return _write_config(tmp_path, standin.url), standin


def test_jaffle_orders_stored_with_exact_values(
    jaffle_sync: tuple[Path, StandIn], jaffle_dir: Path
) -> None:
    """Every non-empty order arrives with total, tax, time, currency, products."""
    config, standin = jaffle_sync
    summary = api.sync(config)

    orders = _read_csv(jaffle_dir / "raw_orders.csv")
    items = _read_csv(jaffle_dir / "raw_items.csv")
    prices = {p["sku"]: p for p in _read_csv(jaffle_dir / "raw_products.csv")}
    units = Counter((i["order_id"], i["sku"]) for i in items)
    stored = standin.orders("v1")

    assert summary.orders_sent == len(orders) - EMPTY_ORDERS
    assert len(stored) == len(orders) - EMPTY_ORDERS
    for row in orders:
        if row["order_total"] == "0":
            assert row["id"] not in stored
            continue
        order = stored[row["id"]]
        assert (
            Decimal(str(order["purchase_total"])) == Decimal(row["order_total"]) / 100
        )
        assert Decimal(str(order["tax"])) == Decimal(row["tax_paid"]) / 100
        assert order["currency"] == "USD"
        assert order["customer_id"] == row["customer"]
        local = datetime.fromisoformat(row["ordered_at"]).replace(tzinfo=NEW_YORK)
        assert datetime.fromisoformat(order["time_of_purchase"]) == local
        assert order["time_of_purchase"].endswith("-04:00")
        expected = {
            sku: count for (oid, sku), count in units.items() if oid == row["id"]
        }
        got = {p["id"]: p["quantity"] for p in order["products"]}
        assert got == expected
        for product in order["products"]:
            price = Decimal(prices[product["id"]]["price"]) / 100
            assert Decimal(str(product["price"])) == price
            # Text values are trimmed: one product name ends in a space.
            assert product["name"] == prices[product["id"]]["name"].strip()


def test_jaffle_empty_orders_reported(jaffle_sync: tuple[Path, StandIn]) -> None:
    """The three orders without items are rejected with a reason, not dropped."""
    config, _standin = jaffle_sync
    summary = api.sync(config)

    lines = (config.parent / "rejects.jsonl").read_text().splitlines()
    rejects = [json.loads(line) for line in lines]
    assert summary.rejected == EMPTY_ORDERS
    assert len(rejects) == EMPTY_ORDERS
    assert "e0b8f516-92e5-45aa-93eb-ed2971d4441e" in {r["order_key"] for r in rejects}
    for reject in rejects:
        assert reject["field_path"] == "$.products"
        assert reject["reason"]


def test_jaffle_second_run_sends_nothing(jaffle_sync: tuple[Path, StandIn]) -> None:
    config, standin = jaffle_sync
    api.sync(config)
    posts_before = len(standin.requests)

    second = api.sync(config)

    assert second.orders_sent == 0
    assert second.rejected == 0
    assert second.still_rejected == EMPTY_ORDERS
    assert len(standin.requests) == posts_before


def test_jaffle_check_and_preview(jaffle_sync: tuple[Path, StandIn]) -> None:
    config, _standin = jaffle_sync
    settings = load_settings(config)

    lines = api.check(settings)
    previews = api.preview(settings, 3)

    assert any("credentials accepted" in line for line in lines)
    assert len(previews) == 3
    assert all(item.get("customer_name") in (None, "<masked>") for item in previews)

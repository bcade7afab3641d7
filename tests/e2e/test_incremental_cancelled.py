"""The cancelled-order mapping of docs/delivery.md, run against a small shop."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from incremental_shop import Item, Shop, minutes, write_config

from connector import api
from connector.standin import StandIn

DOCS = Path(__file__).resolve().parents[2] / "docs" / "delivery.md"


def _docs_mapping() -> str:
    """Return the YAML block of the section on cancelled orders."""
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## Deleted and cancelled orders") :]
    found = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert found is not None, "docs/delivery.md lost its cancellation mapping"
    return found.group(1)


@pytest.fixture
def config(tmp_path: Path, api_env: dict[str, str], standin: StandIn) -> Path:
    (tmp_path / "mapping.yaml").write_text(_docs_mapping(), encoding="utf-8")
    return write_config(tmp_path, standin.url)


@pytest.fixture
def shop(tmp_path: Path) -> Shop:
    shop = Shop(tmp_path)
    two_lines = (Item("sku-1", 2, 500), Item("sku-2", 1, 1500))
    with shop.session():
        shop.add_order("open", minutes(1), items=two_lines, total_cents=2500)
        shop.add_order("refunded", minutes(2), items=two_lines, total_cents=2500)
        shop.add_refund("refunded", "sku-2", minutes(3), amount_cents=1500)
        shop.add_order(
            "cancelled",
            minutes(4),
            items=two_lines,
            total_cents=2500,
            status="cancelled",
        )
    return shop


def _refunds(order: dict[str, Any]) -> dict[str, tuple[int, float]]:
    return {
        r["product_id"]: (r["quantity"], r["refund_amount"])
        for r in order.get("refunds", [])
    }


def test_cancelled_order_tagged_and_refunded(
    shop: Shop, config: Path, standin: StandIn
) -> None:
    summary = api.sync(config)

    stored = standin.orders()
    assert summary.rejected == 0
    assert stored["cancelled"]["order_tags"] == ["cancelled"]
    assert _refunds(stored["cancelled"]) == {"sku-1": (2, 10), "sku-2": (1, 15)}
    assert "order_tags" not in stored["open"]
    assert "refunds" not in stored["open"]
    assert _refunds(stored["refunded"]) == {"sku-2": (1, 15)}


def test_later_cancellation_resends_order(
    shop: Shop, config: Path, standin: StandIn
) -> None:
    """Cancelling a synced order, partial refund included, resends it in full."""
    api.sync(config)

    with shop.session():
        shop.update_order("open", minutes(10), status="cancelled")
        shop.update_order("refunded", minutes(11), status="cancelled")
    summary = api.sync(config)

    stored = standin.orders()
    assert summary.orders_sent == 2
    assert summary.rejected == 0
    for order_id in ("open", "refunded"):
        assert stored[order_id]["order_tags"] == ["cancelled"]
        assert _refunds(stored[order_id]) == {"sku-1": (2, 10), "sku-2": (1, 15)}


def test_deleted_row_stays_in_northbeam(
    shop: Shop, config: Path, standin: StandIn
) -> None:
    """The connector never deletes: a row removed from the warehouse is not noticed."""
    api.sync(config)
    posts = len(standin.requests)

    shop.execute("DELETE FROM orders WHERE order_id = 'open'")
    summary = api.sync(config)

    assert summary.orders_sent == 0
    assert "open" in standin.orders()
    assert len(standin.requests) == posts

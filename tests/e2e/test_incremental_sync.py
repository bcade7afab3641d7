"""Incremental runs: ties, lookback, child changes and change detection.

Each test builds a small shop in DuckDB, syncs it into the stand-in on
127.0.0.1 in process, changes the shop, and syncs again.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from incremental_shop import (
    DAY,
    Item,
    Shop,
    load_state,
    minutes,
    stale_orders,
    write_config,
    write_mapping,
)
from testdata import TEST_CLIENT, TEST_KEY

from connector import api
from connector.pipeline import RunOptions
from connector.standin import Faults, StandIn


@pytest.fixture
def shop(tmp_path: Path, api_env: dict[str, str]) -> Shop:
    write_mapping(tmp_path)
    return Shop(tmp_path)


def _five_orders(shop: Shop) -> None:
    with shop.session():
        for number in range(5):
            shop.add_order(f"o{number}", minutes(number))


def test_ten_thousand_ties_all_arrive(shop: Shop, standin: StandIn) -> None:
    """One cursor value for 10,000 orders, in batches of 7 and chunks of 333."""
    ids = shop.add_many(10_000, minutes(0))
    config = write_config(shop.folder, standin.url, batch_size=7, chunk_rows=333)

    first = api.sync(config)

    assert first.orders_sent == 10_000
    assert standin.order_count() == 10_000
    assert stale_orders(shop, standin.orders()) == []
    assert load_state(shop.folder).mark == minutes(0)

    posts = len(standin.requests)
    second = api.sync(config)

    assert second.orders_sent == 0
    assert second.unchanged == len(ids)
    assert len(standin.requests) == posts


def test_new_tie_at_mark_is_sent(shop: Shop, standin: StandIn) -> None:
    """An order added later with the cursor value of the mark is not skipped."""
    _five_orders(shop)
    config = write_config(shop.folder, standin.url)
    api.sync(config)

    shop.add_order("late-tie", minutes(4))
    summary = api.sync(config)

    assert summary.orders_sent == 1
    assert summary.unchanged == 1
    assert "late-tie" in standin.orders()


def test_second_run_sends_only_changes(shop: Shop, standin: StandIn) -> None:
    _five_orders(shop)
    config = write_config(shop.folder, standin.url)
    api.sync(config)

    with shop.session():
        shop.update_order("o1", minutes(10), total_cents=2500)
        shop.add_order("o5", minutes(11))
    summary = api.sync(config)

    assert summary.orders_sent == 2
    assert summary.unchanged == 1
    assert stale_orders(shop, standin.orders()) == []
    assert load_state(shop.folder).mark == minutes(11)


def test_line_item_edit_resends_order(shop: Shop, standin: StandIn) -> None:
    """A changed line item resends the order although the order row is unchanged."""
    _five_orders(shop)
    config = write_config(shop.folder, standin.url)
    api.sync(config)

    shop.set_item("o1", "sku-1", minutes(20), qty=4)
    summary = api.sync(config)

    assert summary.orders_sent == 1
    assert standin.orders()["o1"]["products"][0]["quantity"] == 4
    assert standin.write_counts()["o1"] == 2
    assert load_state(shop.folder).child_marks["products"] == minutes(20)


def test_refund_added_resends_order(shop: Shop, standin: StandIn) -> None:
    """A refund on an order synced before resends it, even with no refunds at first."""
    _five_orders(shop)
    config = write_config(shop.folder, standin.url)
    api.sync(config)

    shop.add_refund("o2", "sku-1", minutes(30), amount_cents=400)
    summary = api.sync(config)

    assert summary.orders_sent == 1
    refunds = standin.orders()["o2"]["refunds"]
    assert [(r["product_id"], r["refund_amount"]) for r in refunds] == [("sku-1", 4)]
    assert stale_orders(shop, standin.orders()) == []


def test_child_touch_without_change_counts_unchanged(
    shop: Shop, standin: StandIn
) -> None:
    """A line item whose cursor moved but whose values did not sends nothing."""
    _five_orders(shop)
    config = write_config(shop.folder, standin.url)
    api.sync(config)

    shop.set_item("o3", "sku-1", minutes(40))
    summary = api.sync(config)

    assert summary.orders_sent == 0
    assert summary.unchanged == 2
    assert standin.write_counts()["o3"] == 1


def test_child_change_sends_order_once(shop: Shop, standin: StandIn) -> None:
    """An order whose row and items both changed is sent once, not twice."""
    _five_orders(shop)
    config = write_config(shop.folder, standin.url)
    api.sync(config)

    with shop.session():
        shop.update_order("o1", minutes(50), total_cents=3000)
        shop.set_item("o1", "sku-1", minutes(50), qty=3)
        shop.add_refund("o1", "sku-1", minutes(50))
    summary = api.sync(config)

    assert summary.orders_sent == 1
    assert standin.write_counts()["o1"] == 2
    assert stale_orders(shop, standin.orders()) == []


def test_child_mark_never_moves_back(shop: Shop, standin: StandIn) -> None:
    """Without child rows at or above the mark, the child mark stays put.

    Deleting the newest refund leaves no row at the mark, so each run finds
    no changed refunds. The mark must not step back by the lookback.
    """
    _five_orders(shop)
    shop.add_refund("o2", "sku-1", minutes(30))
    config = write_config(shop.folder, standin.url, lookback=600)
    api.sync(config)
    marks = load_state(shop.folder).child_marks
    assert marks["refunds"] == minutes(30)

    shop.execute("DELETE FROM refunds")
    for _ in range(3):
        api.sync(config)

    assert load_state(shop.folder).child_marks == marks


def test_lookback_picks_up_late_row(shop: Shop, standin: StandIn) -> None:
    """A row that arrives late with a cursor within the lookback is sent."""
    _five_orders(shop)
    config = write_config(shop.folder, standin.url, lookback=300)
    api.sync(config)

    shop.add_order("late", minutes(0))
    summary = api.sync(config)

    assert "late" in standin.orders()
    assert summary.orders_sent == 1
    assert summary.unchanged == 5
    assert load_state(shop.folder).mark == minutes(4)


def test_late_row_outside_lookback_missed(shop: Shop, standin: StandIn) -> None:
    """A row older than the mark less the lookback is not read; a backfill finds it."""
    _five_orders(shop)
    config = write_config(shop.folder, standin.url, lookback=60)
    api.sync(config)

    shop.add_order("too-late", minutes(0))
    summary = api.sync(config)

    assert "too-late" not in standin.orders()
    assert summary.orders_sent == 0

    api.sync(config, RunOptions(since=DAY, until=minutes(1)))
    assert "too-late" in standin.orders()


def test_lookback_reread_counts_unchanged(shop: Shop, standin: StandIn) -> None:
    """Orders read again by the lookback, with unchanged payloads, are not sent."""
    _five_orders(shop)
    config = write_config(shop.folder, standin.url, lookback=3600)
    api.sync(config)
    posts = len(standin.requests)

    summary = api.sync(config)

    assert summary.orders_mapped == 5
    assert summary.unchanged == 5
    assert summary.orders_sent == 0
    assert len(standin.requests) == posts


def test_full_refresh_resends_unchanged(shop: Shop, standin: StandIn) -> None:
    _five_orders(shop)
    config = write_config(shop.folder, standin.url)
    api.sync(config)

    summary = api.sync(config, RunOptions(full_refresh=True))

    assert summary.mode == "full refresh"
    assert summary.orders_sent == 5
    assert summary.unchanged == 0
    assert set(standin.write_counts().values()) == {2}


def test_dropped_response_resends_and_stores_once(
    shop: Shop, api_env: dict[str, str]
) -> None:
    """A batch stored by the API whose response was lost is sent again, no reject."""
    _five_orders(shop)
    faults = Faults(script=["drop"])
    with StandIn(api_key=TEST_KEY, client_id=TEST_CLIENT, faults=faults) as standin:
        # One batch in flight at a time, so the first batch is the one dropped.
        config = write_config(shop.folder, standin.url, batch_size=3, max_in_flight=1)

        summary = api.sync(config)

        counts = standin.write_counts()
        assert summary.orders_sent == 5
        assert summary.rejected == 0
        assert standin.order_count() == 5
        assert sorted(counts.values()) == [1, 1, 2, 2, 2]
        assert [r.fault for r in standin.requests].count("drop") == 1
        assert stale_orders(shop, standin.orders()) == []
        assert api.sync(config).orders_sent == 0


def test_late_order_row_edit_reaches_api(shop: Shop, standin: StandIn) -> None:
    """Many edits of one order across runs leave its latest values stored."""
    _five_orders(shop)
    config = write_config(shop.folder, standin.url)
    for step in range(1, 4):
        shop.update_order("o0", DAY + timedelta(hours=step), total_cents=1000 * step)
        api.sync(config)

    assert standin.orders()["o0"]["purchase_total"] == 30
    assert standin.write_counts()["o0"] == 3


def test_added_line_item_resends(shop: Shop, standin: StandIn) -> None:
    _five_orders(shop)
    config = write_config(shop.folder, standin.url)
    api.sync(config)

    shop.add_item("o4", Item("sku-2", qty=2, price_cents=250), minutes(60))
    api.sync(config)

    products = {p["id"]: p["quantity"] for p in standin.orders()["o4"]["products"]}
    assert products == {"sku-1": 1, "sku-2": 2}


ORDER_COLUMNS = (
    "{'order_id': 'VARCHAR', 'customer_id': 'VARCHAR', 'placed_at': 'TIMESTAMP', "
    "'updated_at': 'TIMESTAMP', 'created_at': 'TIMESTAMP', 'total_cents': 'BIGINT', "
    "'tax_cents': 'BIGINT', 'status': 'VARCHAR', 'email': 'VARCHAR'}"
)


def _orders_from_csv(shop: Shop) -> Path:
    """Serve the orders table from a CSV file that a test may rewrite mid-run.

    The sync keeps the DuckDB file open while it runs, so nothing else can
    write it then. The view reads the CSV on every query.
    """
    csv = shop.folder / "orders.csv"
    with shop.session() as same:
        same.execute(f"COPY orders TO '{csv}' (HEADER)")
        same.execute("DROP TABLE orders")
        same.execute(
            f"CREATE VIEW orders AS SELECT * FROM read_csv('{csv}', header = true, "
            f"columns = {ORDER_COLUMNS})"
        )
    return csv


def _rewrite_total(csv: Path, order_id: str, total_cents: int, updated_at: str) -> None:
    lines = csv.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        fields = line.split(",")
        if fields[0] == order_id:
            fields[3], fields[5] = updated_at, str(total_cents)
            lines[index] = ",".join(fields)
    draft = csv.with_suffix(".tmp")
    draft.write_text("\n".join(lines) + "\n", encoding="utf-8")
    draft.replace(csv)


def test_update_during_run_reaches_api(shop: Shop, api_env: dict[str, str]) -> None:
    """An order updated after the revisit pass sent it is sent again, newer last.

    The refund makes the run revisit o1 first. While the stand-in stores that
    request, o1's row changes; the window pass then reads the new version,
    which must not be skipped as already handled.
    """
    _five_orders(shop)
    csv = _orders_from_csv(shop)
    stores: list[int] = []

    def change_o1_once(_record: object) -> None:
        stores.append(1)
        if len(stores) == 2:
            _rewrite_total(csv, "o1", 7700, "2024-03-01 12:20:00")

    with StandIn(
        api_key=TEST_KEY, client_id=TEST_CLIENT, on_store=change_o1_once
    ) as standin:
        config = write_config(shop.folder, standin.url)
        api.sync(config)
        shop.add_refund("o1", "sku-1", minutes(10), amount_cents=100)

        summary = api.sync(config)

        o1 = standin.orders()["o1"]
        assert o1["purchase_total"] == 77
        assert len(o1["refunds"]) == 1
        assert summary.orders_sent == 2
        assert load_state(shop.folder).mark == minutes(20)
        assert api.sync(config).orders_sent == 0

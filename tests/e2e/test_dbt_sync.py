"""A sync whose orders come from a dbt model, built by a real ``dbt build``.

The mapping names ``model: orders``; the connector finds the built table in
dbt's manifest. Line items come from a query on the ``stg_items`` view that
the same build created. Every jaffle order with items must arrive.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from testdata import DBT_DUCKDB_PATH_ENV, DBT_PROJECT, DbtBuild

from connector import api
from connector.source.dbt import TARGET_PATH_ENV
from connector.standin import StandIn

NEW_YORK = ZoneInfo("America/New_York")

MAPPING = """\
version: 1
orders:
  model: orders               # the dbt model, resolved through manifest.json
  key: order_id
  cursor: ordered_at
timezone: America/New_York
fields:
  order_id: order_id
  customer_id: customer_id
  time_of_purchase: ordered_at
  currency: {value: USD}
  purchase_total: {column: order_total, unit: cents}
  tax: {column: tax_paid, unit: cents}
products:
  # stg_items is a view of the same dbt build: one row per unit sold.
  query: |
    select i.order_id, i.sku, p.name, p.price, count(*) as quantity
    from stg_items i
    join raw_products p on p.sku = i.sku
    group by i.order_id, i.sku, p.name, p.price
  key: order_id
  fields:
    id: sku
    name: name
    quantity: quantity
    price: {column: price, unit: cents}
"""

URL_WAREHOUSE = """\
warehouse:
  url: duckdb:///{database}
  dbt:
    project_dir: {project}
"""

PROFILE_WAREHOUSE = """\
warehouse:
  dbt:
    project_dir: {project}
    use_profile: true
    profiles_dir: {project}
"""

REST = """\
mapping: mapping.yaml
northbeam:
  base_url: {url}
  api_key: ${{NORTHBEAM_API_KEY}}
  client_id: ${{NORTHBEAM_CLIENT_ID}}
  batch_size: 50
state:
  path: state.db
sync:
  reject_file: rejects.jsonl
"""


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def dbt_env(dbt_jaffle: DbtBuild, monkeypatch: pytest.MonkeyPatch) -> DbtBuild:
    """Point manifest lookups and profiles.yml at the session's build."""
    monkeypatch.setenv(TARGET_PATH_ENV, str(dbt_jaffle.target))
    monkeypatch.setenv(DBT_DUCKDB_PATH_ENV, str(dbt_jaffle.database))
    return dbt_jaffle


def write_config(folder: Path, warehouse: str, url: str) -> Path:
    (folder / "mapping.yaml").write_text(MAPPING, encoding="utf-8")
    config = folder / "config.yaml"
    config.write_text(warehouse + REST.format(url=url), encoding="utf-8")
    return config


def assert_jaffle_orders(stored: dict[str, dict[str, object]], jaffle: Path) -> None:
    """Every order with items is stored with exact totals, time and items."""
    orders = _read_csv(jaffle / "raw_orders.csv")
    units = Counter(
        (i["order_id"], i["sku"]) for i in _read_csv(jaffle / "raw_items.csv")
    )
    with_items = {order_id for order_id, _sku in units}
    prices = {
        p["sku"]: Decimal(p["price"]) / 100
        for p in _read_csv(jaffle / "raw_products.csv")
    }

    assert set(stored) == with_items
    for row in orders:
        if row["id"] not in with_items:
            continue
        order = stored[row["id"]]
        assert (
            Decimal(str(order["purchase_total"])) == Decimal(row["order_total"]) / 100
        )
        assert Decimal(str(order["tax"])) == Decimal(row["tax_paid"]) / 100
        assert order["customer_id"] == row["customer"]
        local = datetime.fromisoformat(row["ordered_at"]).replace(tzinfo=NEW_YORK)
        assert datetime.fromisoformat(str(order["time_of_purchase"])) == local
        products = order["products"]
        assert isinstance(products, list)
        got = {p["id"]: p["quantity"] for p in products}
        assert got == {sku: n for (oid, sku), n in units.items() if oid == row["id"]}
        for product in products:
            assert Decimal(str(product["price"])) == prices[product["id"]]


def test_model_orders_synced(
    tmp_path: Path,
    dbt_env: DbtBuild,
    standin: StandIn,
    api_env: dict[str, str],
    jaffle_dir: Path,
) -> None:
    config = write_config(
        tmp_path,
        URL_WAREHOUSE.format(database=dbt_env.database, project=DBT_PROJECT),
        standin.url,
    )

    lines = api.check(config)
    first = api.sync(config)
    second = api.sync(config)

    stored = standin.orders("v1")
    assert "orders: 9 columns found" in lines
    assert first.rows_read == len(_read_csv(jaffle_dir / "raw_orders.csv"))
    assert first.orders_sent == len(stored)
    assert first.rejected == first.rows_read - len(stored)
    assert second.orders_sent == 0
    assert_jaffle_orders(stored, jaffle_dir)


def test_model_orders_synced_with_dbt_profile(
    tmp_path: Path,
    dbt_env: DbtBuild,
    standin: StandIn,
    api_env: dict[str, str],
    jaffle_dir: Path,
) -> None:
    """The connection comes from profiles.yml, as dbt itself connects."""
    config = write_config(
        tmp_path, PROFILE_WAREHOUSE.format(project=DBT_PROJECT), standin.url
    )

    summary = api.sync(config)

    assert summary.orders_sent == standin.order_count("v1")
    assert_jaffle_orders(standin.orders("v1"), jaffle_dir)


def test_build_leaves_project_clean(dbt_jaffle: DbtBuild) -> None:
    """dbt wrote its target and logs outside the repository."""
    created = {path.name for path in DBT_PROJECT.iterdir()}

    assert created == {"dbt_project.yml", "profiles.yml", "models"}
    assert (dbt_jaffle.target / "manifest.json").is_file()

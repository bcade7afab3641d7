"""Warehouse state tables: names, creation and errors (DuckDB)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from connector.errors import ConfigError, StateError
from connector.state import WarehouseStateStore


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = sa.create_engine(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    yield engine
    engine.dispose()


def test_warehouse_creates_four_tables(engine: sa.Engine) -> None:
    WarehouseStateStore(engine, "nb_state")

    tables = set(sa.inspect(engine).get_table_names())

    assert {
        "nb_state",
        "nb_state_fingerprints",
        "nb_state_rejects",
        "nb_state_locks",
    } <= tables


def test_warehouse_existing_tables_reused(engine: sa.Engine) -> None:
    first = WarehouseStateStore(engine)
    first.checkpoint("orders", accepted={"1": "f" * 64}, rejected=[])

    second = WarehouseStateStore(engine)

    assert second.fingerprints("orders", ["1"]) == {"1": "f" * 64}


def test_warehouse_schema_qualified_table(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE SCHEMA analytics"))

    store = WarehouseStateStore(engine, "analytics.nb_state")
    store.checkpoint("orders", accepted={}, rejected=[], high_water_mark=5)

    assert store.load("orders").high_water_mark == 5
    names = sa.inspect(engine).get_table_names(schema="analytics")
    assert "nb_state_locks" in names


@pytest.mark.parametrize(
    "table",
    ["bad-name", "a.b.c", "1table", "x" * 51, "", "name; drop table x"],
)
def test_warehouse_invalid_table_name_raises(engine: sa.Engine, table: str) -> None:
    with pytest.raises(ConfigError, match=r"state\.table") as caught:
        WarehouseStateStore(engine, table)

    assert caught.value.key == "state.table"


def test_warehouse_missing_tables_raise_state_error(engine: sa.Engine) -> None:
    store = WarehouseStateStore(engine, "never_created", create_tables=False)

    with pytest.raises(StateError, match="never_created") as caught:
        store.fingerprints("orders", ["order-secret-1"])

    assert "order-secret-1" not in str(caught.value)

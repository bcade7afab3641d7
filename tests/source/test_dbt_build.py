"""A real ``dbt build`` of tests/dbt_project, then reads through its manifest."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from connector.config import DbtSettings, WarehouseSettings
from connector.errors import SourceError
from connector.source import CursorWindow, Relation, SourceSpec, Warehouse
from connector.source.dbt import TARGET_PATH_ENV

PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
JAFFLE = SHARED / "data" / "jaffle-shop" / "new"
PATH_VARIABLE = "NBSYNC_DBT_DUCKDB_PATH"
EMPTY_ORDER = "e0b8f516-92e5-45aa-93eb-ed2971d4441e"


@dataclass(frozen=True)
class DbtBuild:
    """Where one dbt build wrote its database and its target folder."""

    database: Path
    target: Path


def load_raw_tables(database: Path) -> None:
    """Load the jaffle-shop raw orders and items CSVs into DuckDB tables."""
    con = duckdb.connect(str(database))
    try:
        for name in ("orders", "items"):
            con.execute(
                f"CREATE TABLE raw_{name} AS SELECT * FROM read_csv(?, header = true)",
                [str(JAFFLE / f"raw_{name}.csv")],
            )
    finally:
        con.close()


@pytest.fixture(scope="module")
def dbt_build(tmp_path_factory: pytest.TempPathFactory) -> DbtBuild:
    """Run ``dbt build`` once; the target and logs go to a temporary folder."""
    folder = tmp_path_factory.mktemp("dbt")
    build = DbtBuild(database=folder / "jaffle.duckdb", target=folder / "target")
    load_raw_tables(build.database)
    dbt = Path(sys.executable).with_name("dbt")
    env = {**os.environ, "DO_NOT_TRACK": "1", PATH_VARIABLE: str(build.database)}
    command = [
        str(dbt),
        "build",
        "--project-dir",
        str(PROJECT),
        "--profiles-dir",
        str(PROJECT),
        "--target-path",
        str(build.target),
        "--log-path",
        str(folder / "logs"),
    ]
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return build


@pytest.fixture
def dbt_env(dbt_build: DbtBuild, monkeypatch: pytest.MonkeyPatch) -> Iterator[DbtBuild]:
    """Point manifest lookups and profiles.yml at this build."""
    monkeypatch.setenv(TARGET_PATH_ENV, str(dbt_build.target))
    monkeypatch.setenv(PATH_VARIABLE, str(dbt_build.database))
    yield dbt_build


def orders_spec(model: str = "orders") -> SourceSpec:
    return SourceSpec(Relation(model=model), key="order_id", cursor="ordered_at")


def read_orders(warehouse: Warehouse, model: str = "orders") -> list[dict[str, object]]:
    chunks = warehouse.stream_rows(orders_spec(model), CursorWindow(), 50)
    return [row for rows in chunks for row in rows]


def test_model_resolves_to_built_relation(dbt_env: DbtBuild, tmp_path: Path) -> None:
    settings = WarehouseSettings(
        url=f"duckdb:///{dbt_env.database}", dbt=DbtSettings(project_dir=PROJECT)
    )

    with Warehouse.connect(settings, tmp_path) as warehouse:
        resolved = warehouse.resolve(orders_spec())
        rows = read_orders(warehouse)

    assert resolved.relation == Relation(table='"jaffle"."main"."orders"')
    assert len(rows) == 223
    cursors = [row["__cursor"] for row in rows]
    assert cursors == sorted(cursors)
    empty = next(row for row in rows if row["order_id"] == EMPTY_ORDER)
    assert empty["item_count"] == 0
    assert empty["order_total"] == 0


def test_profile_connection_reads_rows(dbt_env: DbtBuild, tmp_path: Path) -> None:
    """profiles.yml gives the connection, with the file path from env_var()."""
    dbt = DbtSettings(project_dir=PROJECT, use_profile=True, profiles_dir=PROJECT)

    with Warehouse.connect(WarehouseSettings(dbt=dbt), tmp_path) as warehouse:
        rows = read_orders(warehouse, "nbsync_jaffle.orders")
        by_id = read_orders(warehouse, "model.nbsync_jaffle.orders")
        dialect = warehouse.dialect

    assert dialect == "duckdb"
    assert len(rows) == 223
    assert rows == by_id


def test_unknown_model_suggests_near_names(dbt_env: DbtBuild, tmp_path: Path) -> None:
    settings = WarehouseSettings(
        url=f"duckdb:///{dbt_env.database}", dbt=DbtSettings(project_dir=PROJECT)
    )

    with (
        Warehouse.connect(settings, tmp_path) as warehouse,
        pytest.raises(SourceError) as caught,
    ):
        warehouse.resolve(orders_spec("stg_order"))

    assert "dbt model stg_order not found" in str(caught.value)
    assert "stg_orders" in str(caught.value)


def test_missing_manifest_says_run_dbt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TARGET_PATH_ENV, str(tmp_path / "never_built"))
    settings = WarehouseSettings(
        url="duckdb:///:memory:", dbt=DbtSettings(project_dir=PROJECT)
    )

    with (
        Warehouse.connect(settings, tmp_path) as warehouse,
        pytest.raises(SourceError) as caught,
    ):
        warehouse.resolve(orders_spec())

    assert "run dbt build (or dbt compile)" in str(caught.value)
    assert caught.value.retryable is False


def test_build_leaves_project_clean(dbt_build: DbtBuild) -> None:
    """dbt wrote its target and logs outside the repository."""
    created = {path.name for path in PROJECT.iterdir()}

    assert created == {"dbt_project.yml", "profiles.yml", "models"}

"""Constants and loaders shared by test modules (fixtures live in conftest)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

# Long enough for the log redaction to mask them (it ignores values under 6).
TEST_KEY = "test-key-7f3c9a1e5b"
TEST_CLIENT = "test-client-2d8e4f6a"

DBT_PROJECT = Path(__file__).resolve().parent / "dbt_project"
#: Variable that tests/dbt_project/profiles.yml reads the DuckDB file path from.
DBT_DUCKDB_PATH_ENV = "NBSYNC_DBT_DUCKDB_PATH"


def load_jaffle(database: Path, jaffle_dir: Path) -> None:
    """Load the jaffle-shop CSVs into DuckDB tables named after the files."""
    con = duckdb.connect(str(database))
    try:
        for name in ("customers", "orders", "items", "products", "stores"):
            csv = jaffle_dir / f"raw_{name}.csv"
            con.execute(
                f"CREATE OR REPLACE TABLE raw_{name} AS "
                "SELECT * FROM read_csv(?, header=true)",
                [str(csv)],
            )
    finally:
        con.close()


@dataclass(frozen=True)
class DbtBuild:
    """Paths of one dbt build: its DuckDB file and its target folder."""

    database: Path
    target: Path


def build_dbt_project(folder: Path, jaffle_dir: Path) -> DbtBuild:
    """Load the jaffle-shop CSVs into DuckDB and run ``dbt build`` on them.

    The DuckDB file contains the raw tables and the built models. Target
    and logs go to ``folder``, so the project folder stays clean.
    """
    build = DbtBuild(database=folder / "jaffle.duckdb", target=folder / "target")
    load_jaffle(build.database, jaffle_dir)
    dbt = Path(sys.executable).with_name("dbt")
    env = {**os.environ, "DO_NOT_TRACK": "1", DBT_DUCKDB_PATH_ENV: str(build.database)}
    command = [
        str(dbt),
        "build",
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
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

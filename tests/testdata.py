"""Constants and loaders shared by test modules (fixtures live in conftest)."""

from __future__ import annotations

from pathlib import Path

import duckdb

# Long enough for the log redaction to mask them (it ignores values under 6).
TEST_KEY = "test-key-7f3c9a1e5b"
TEST_CLIENT = "test-client-2d8e4f6a"


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

"""Warehouses for the source tests: a DuckDB file and a real PostgreSQL schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from pg import postgres_server, postgres_url  # noqa: F401
from source_backends import Backend


def _postgres_schema_url(base_url: str) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{base_url}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """An empty warehouse: a DuckDB file, or a fresh PostgreSQL schema."""
    if request.param == "duckdb":
        yield Backend("duckdb", f"duckdb:///{tmp_path / 'warehouse.duckdb'}", tmp_path)
        return
    base_url = request.getfixturevalue("postgres_url")
    for url in _postgres_schema_url(base_url):
        yield Backend("postgres", url, tmp_path)


@pytest.fixture
def postgres_backend(postgres_url: str, tmp_path: Path) -> Iterator[Backend]:  # noqa: F811
    """A fresh schema on the session's PostgreSQL server."""
    for url in _postgres_schema_url(postgres_url):
        yield Backend("postgres", url, tmp_path)


@pytest.fixture
def duckdb_backend(tmp_path: Path) -> Backend:
    """An empty DuckDB file."""
    return Backend("duckdb", f"duckdb:///{tmp_path / 'warehouse.duckdb'}", tmp_path)

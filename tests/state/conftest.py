"""State-store backends for the state tests.

``sqlite`` is the default SQLite store. ``duckdb`` and ``postgres`` are the
warehouse store on those databases, and ``sqlalchemy-sqlite`` is the
warehouse store on SQLite through SQLAlchemy, the one tested dialect that
matches keys with IN lists instead of array parameters.

Each test that takes ``backend`` runs once per backend. A backend opens any
number of stores on the same state (``backend.open()``), which is how tests
play two runs, and names the location for worker processes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg import postgres_server, postgres_url  # noqa: F401
from state_backends import Backend

from connector.state import StateStore


@pytest.fixture(
    params=[
        "sqlite",
        "duckdb",
        "sqlalchemy-sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Empty state on each backend in turn."""
    kind = request.param
    if kind == "sqlite":
        result = Backend(kind, str(tmp_path / "state" / "state.db"))
    elif kind == "duckdb":
        result = Backend(kind, f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    elif kind == "sqlalchemy-sqlite":
        result = Backend(kind, f"sqlite:///{tmp_path / 'warehouse.db'}")
    else:
        url = request.getfixturevalue("postgres_url")
        # One table set per test keeps tests on the shared database apart.
        result = Backend(kind, url, table=f"state_{uuid.uuid4().hex[:12]}")
    try:
        yield result
    finally:
        result.release()


@pytest.fixture
def store(backend: Backend) -> StateStore:
    """A store on empty state, on each backend in turn."""
    return backend.open()

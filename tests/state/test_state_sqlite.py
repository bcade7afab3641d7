"""SQLite file handling and opening the configured backend."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from connector.config import Settings, StateSettings
from connector.errors import ConfigError, StateError
from connector.state import (
    SQLiteStateStore,
    WarehouseStateStore,
    open_state_store,
    open_store,
)


def test_sqlite_creates_folder_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "state.db"

    SQLiteStateStore(path).close()

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sqlite_newer_schema_raises(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SQLiteStateStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version=99")

    with pytest.raises(StateError, match=r"schema version 99.*Upgrade"):
        SQLiteStateStore(path)


def test_sqlite_not_a_database_raises(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not a SQLite file, it is text" * 100)

    with pytest.raises(StateError, match=r"state\.db"):
        SQLiteStateStore(path)


def test_sqlite_store_shared_by_threads(tmp_path: Path) -> None:
    store = SQLiteStateStore(tmp_path / "state.db")

    def _write(worker: int) -> None:
        for batch in range(20):
            keys = {f"{worker}-{batch}-{i}": "f" * 64 for i in range(10)}
            store.checkpoint("orders", accepted=keys, rejected=[])

    threads = [threading.Thread(target=_write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert store.show("orders")["fingerprints"] == 4 * 20 * 10
    store.close()


def test_open_state_store_resolves_relative_path(tmp_path: Path) -> None:
    settings = StateSettings(path=Path("nested/state.db"))

    store = open_state_store(settings, base_dir=tmp_path)
    store.close()

    assert isinstance(store, SQLiteStateStore)
    assert (tmp_path / "nested" / "state.db").exists()


def test_open_state_store_warehouse_needs_engine(tmp_path: Path) -> None:
    settings = StateSettings(backend="warehouse")

    with pytest.raises(ConfigError, match=r"state\.backend"):
        open_state_store(settings, base_dir=tmp_path)


def test_open_state_store_warehouse_uses_table(tmp_path: Path) -> None:
    engine = sa.create_engine(f"duckdb:///{tmp_path / 'wh.duckdb'}")
    settings = StateSettings(backend="warehouse", table="nb_state")

    store = open_state_store(settings, base_dir=tmp_path, engine=engine)

    assert isinstance(store, WarehouseStateStore)
    assert "nb_state_fingerprints" in sa.inspect(engine).get_table_names()
    engine.dispose()


class _Connection:
    """Stands in for the source's Warehouse, which exposes its engine."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine


def test_open_store_takes_engine_of_connection(tmp_path: Path) -> None:
    engine = sa.create_engine(f"duckdb:///{tmp_path / 'wh.duckdb'}")
    settings = Settings.model_validate(
        {
            "warehouse": {"url": "duckdb:///unused.duckdb"},
            "mapping": "mapping.yaml",
            "northbeam": {"api_key": "k", "client_id": "c"},
            "state": {"backend": "warehouse"},
            "base_dir": str(tmp_path),
        }
    )

    store = open_store(settings, _Connection(engine))

    assert isinstance(store, WarehouseStateStore)
    engine.dispose()

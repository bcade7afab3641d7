"""A state location for tests, and the stores opened on it."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from connector.state import SQLiteStateStore, StateStore, WarehouseStateStore

WORKER = Path(__file__).with_name("state_worker.py")


@dataclass
class Backend:
    """One state location and the stores and engines opened on it."""

    kind: str
    #: SQLite file path, or SQLAlchemy URL for the warehouse kinds.
    location: str
    table: str = "northbeam_sync_state"
    _stores: list[StateStore] = field(default_factory=list)
    _engines: list[sa.Engine] = field(default_factory=list)

    @property
    def shares_processes(self) -> bool:
        """Whether other processes may open the state while this one has it.

        DuckDB lets one process at a time open a database file.
        """
        return self.kind != "duckdb"

    def open(self) -> StateStore:
        """Open a new store on this backend's state."""
        store: StateStore
        if self.kind == "sqlite":
            store = SQLiteStateStore(self.location)
        else:
            engine = sa.create_engine(self.location)
            self._engines.append(engine)
            store = WarehouseStateStore(engine, self.table)
        self._stores.append(store)
        return store

    def release(self) -> None:
        """Close every store and engine, so another process can open the file."""
        for store in self._stores:
            store.close()
        for engine in self._engines:
            engine.dispose()
        self._stores.clear()
        self._engines.clear()

    def run_worker(
        self, *args: str, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run state_worker.py on this backend and return its result."""
        return subprocess.run(
            self.worker_command(*args),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def worker_command(self, *args: str) -> list[str]:
        """Command line of state_worker.py on this backend."""
        return [
            sys.executable,
            str(WORKER),
            self.kind,
            self.location,
            self.table,
            *args,
        ]

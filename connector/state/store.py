"""The state store interface, and opening the configured backend.

State of a sync ``name``: the high-water mark and child marks, the
fingerprint of the mapping, the fingerprint of each order's last accepted
payload, the pending rejects, and a lock row. Every write is one transaction,
so a crash at any point leaves the state of before or after the write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine

from connector.config import Settings, StateSettings
from connector.errors import ConfigError
from connector.records import Reject
from connector.state.lock import LockInfo, SyncLock
from connector.state.records import UNCHANGED, PendingReject, SyncState, Unchanged
from connector.state.sqlite_store import SQLiteStateStore
from connector.state.warehouse_store import WarehouseStateStore

__all__ = [
    "EngineOwner",
    "SQLiteStateStore",
    "StateStore",
    "WarehouseStateStore",
    "open_state_store",
    "open_store",
]


class StateStore(Protocol):
    """Storage of each sync's marks, fingerprints, pending rejects and lock."""

    def load(self, name: str) -> SyncState:
        """Return the marks of ``name``, which are empty for a sync never run."""
        ...

    def fingerprints(self, name: str, keys: Sequence[str]) -> dict[str, str]:
        """Return the stored fingerprint of each key that has one."""
        ...

    def checkpoint(
        self,
        name: str,
        *,
        accepted: Mapping[str, str],
        rejected: Sequence[Reject],
        high_water_mark: Any = UNCHANGED,
        child_marks: Mapping[str, Any] | None = None,
        mapping_fingerprint: str | Unchanged | None = UNCHANGED,
    ) -> None:
        """Record acknowledged orders and move marks in one transaction.

        ``accepted`` maps order keys to the fingerprint of the accepted
        payload; these keys leave the pending rejects. Each rejected order
        becomes or stays a pending reject with one more attempt, and loses
        its fingerprint so it is sent again once fixed. ``child_marks``
        updates the named children and keeps the others.
        """
        ...

    def pending_rejects(self, name: str) -> list[PendingReject]:
        """Return the pending rejects, oldest first."""
        ...

    def set_high_water_mark(
        self, name: str, value: Any, *, child: str | None = None
    ) -> None:
        """Set the high-water mark, or the mark of ``child``. None clears it."""
        ...

    def reset(self, name: str) -> None:
        """Delete marks, fingerprints and pending rejects of ``name``.

        The lock is kept, so a reset does not disturb a running sync's lock.
        """
        ...

    def show(self, name: str) -> dict[str, Any]:
        """Return a JSON-friendly summary: marks, counts and lock holder."""
        ...

    def lock(self, name: str, *, owner: str, timeout_seconds: float) -> SyncLock:
        """Take the lock of ``name`` now and return it as a context manager.

        A lock whose holder pid is gone from this host, or whose heartbeat is
        older than ``timeout_seconds``, is taken over.

        Raises:
            LockedError: a live run holds the lock; the message names it.
        """
        ...

    def read_lock(self, name: str) -> LockInfo | None:
        """Return the holder of the lock of ``name``, or None when unlocked."""
        ...

    def break_lock(self, name: str) -> LockInfo | None:
        """Delete the lock of ``name`` regardless of its holder.

        Returns the removed holder, or None when the sync was not locked.
        """
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def open_state_store(
    settings: StateSettings, *, base_dir: Path, engine: Engine | None = None
) -> StateStore:
    """Open the backend that ``settings.backend`` names.

    ``base_dir`` resolves a relative SQLite path (the config file's folder).
    ``engine`` is the warehouse engine, required by the warehouse backend.

    Raises:
        ConfigError: the warehouse backend is chosen but no engine is given.
        StateError: the SQLite file or the warehouse tables cannot be opened.
    """
    if settings.backend == "sqlite":
        path = (
            settings.path if settings.path.is_absolute() else base_dir / settings.path
        )
        return SQLiteStateStore(path)
    if engine is None:
        raise ConfigError(
            "state.backend is 'warehouse', but no warehouse engine was given "
            "to keep the state in. Set state.backend: sqlite",
            key="state.backend",
        )
    return WarehouseStateStore(engine, settings.table)


class EngineOwner(Protocol):
    """An open warehouse connection that exposes its SQLAlchemy engine."""

    @property
    def engine(self) -> Engine:
        """Engine of the warehouse connection."""
        ...


def open_store(settings: Settings, warehouse: EngineOwner | None) -> StateStore:
    """Open the state store of ``settings``, on ``warehouse`` if so configured.

    ``warehouse`` may be None for the SQLite backend.

    Raises:
        ConfigError: the warehouse backend is chosen but ``warehouse`` is None.
        StateError: the SQLite file or the warehouse tables cannot be opened.
    """
    engine = None if warehouse is None else warehouse.engine
    return open_state_store(settings.state, base_dir=settings.base_dir, engine=engine)

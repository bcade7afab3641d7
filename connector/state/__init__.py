"""State of a sync between runs: marks, fingerprints, pending rejects, lock.

``open_store`` opens the configured backend, which is a SQLite file by
default or tables in the warehouse. ``AckTracker`` returns how far the
high-water mark may move while batches finish out of order.
"""

from __future__ import annotations

from connector.state.checkpoint import AckTracker
from connector.state.cursor import (
    decode_cursor,
    describe_cursor,
    encode_cursor,
    lower_bound,
)
from connector.state.lock import LockInfo, SyncLock
from connector.state.records import UNCHANGED, PendingReject, SyncState, Unchanged
from connector.state.sqlite_store import SQLiteStateStore
from connector.state.store import (
    EngineOwner,
    StateStore,
    open_state_store,
    open_store,
)
from connector.state.warehouse_store import WarehouseStateStore

__all__ = [
    "UNCHANGED",
    "AckTracker",
    "EngineOwner",
    "LockInfo",
    "PendingReject",
    "SQLiteStateStore",
    "StateStore",
    "SyncLock",
    "SyncState",
    "Unchanged",
    "WarehouseStateStore",
    "decode_cursor",
    "describe_cursor",
    "encode_cursor",
    "lower_bound",
    "open_state_store",
    "open_store",
]

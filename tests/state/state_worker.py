"""A second process for state tests: crashes mid-checkpoint, holds or races locks.

Usage: ``python state_worker.py KIND LOCATION TABLE MODE [ARG]`` where KIND is
sqlite, duckdb or postgres, LOCATION a SQLite path or SQLAlchemy URL, and
MODE one of:

- ``crash N``: apply the scenario checkpoint and kill this process with
  SIGKILL just before the N-th SQL statement. With N = 0 nothing is killed
  and the worker prints how many statements the checkpoint ran.
- ``hold``: take the lock and exit without releasing it, as a crash would.
- ``race``: print ``ready``, wait for a line on stdin, then try to take the
  lock and print ``won`` or ``locked``. A winner holds the lock until stdin
  closes.

The test modules import the scenario below from here.
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from connector.errors import LockedError
from connector.records import Reject
from connector.state import SQLiteStateStore, StateStore, WarehouseStateStore

NAME = "orders"
OWNER = "state-worker"
FP_OLD = "1" * 64
FP_NEW = "2" * 64
MARK_OLD = datetime(2024, 3, 9, 23, 0, tzinfo=ZoneInfo("America/New_York"))
MARK_NEW = MARK_OLD + timedelta(days=1)
KEYS = ["a", "b", "c", "d", "e", "f"]


def seed(store: StateStore) -> None:
    """Write the state before the scenario checkpoint."""
    store.checkpoint(
        NAME,
        accepted={"a": FP_OLD, "b": FP_OLD, "c": FP_OLD},
        rejected=[Reject("d", "validation", "currency 'XXX' is not ISO 4217")],
        high_water_mark=MARK_OLD,
        child_marks={"products": 10},
        mapping_fingerprint="m1",
    )


def apply(store: StateStore) -> None:
    """Apply the scenario checkpoint, which touches every part of the state."""
    store.checkpoint(
        NAME,
        accepted={"a": FP_NEW, "d": FP_NEW, "e": FP_NEW},
        rejected=[
            Reject("b", "api", "HTTP 400: purchase_total is negative"),
            Reject("f", "validation", "order_id is missing"),
        ],
        high_water_mark=MARK_NEW,
        child_marks={"refunds": 5},
        mapping_fingerprint="m2",
    )


def snapshot(store: StateStore) -> tuple[Any, ...]:
    """Return the scenario's state without times, for comparisons."""
    state = store.load(NAME)
    rejects = sorted(
        (r.order_key, r.stage, r.reason, r.attempts)
        for r in store.pending_rejects(NAME)
    )
    return (
        state.high_water_mark,
        state.child_marks,
        state.mapping_fingerprint,
        store.fingerprints(NAME, KEYS),
        rejects,
    )


OLD_SNAPSHOT = (
    MARK_OLD,
    {"products": 10},
    "m1",
    {"a": FP_OLD, "b": FP_OLD, "c": FP_OLD},
    [("d", "validation", "currency 'XXX' is not ISO 4217", 1)],
)
NEW_SNAPSHOT = (
    MARK_NEW,
    {"products": 10, "refunds": 5},
    "m2",
    {"a": FP_NEW, "c": FP_OLD, "d": FP_NEW, "e": FP_NEW},
    [
        ("b", "api", "HTTP 400: purchase_total is negative", 1),
        ("f", "validation", "order_id is missing", 1),
    ],
)


def open_store(kind: str, location: str, table: str) -> tuple[StateStore, Any]:
    """Open the store and return it with its engine (None for SQLite)."""
    if kind == "sqlite":
        return SQLiteStateStore(location), None
    engine = sa.create_engine(location)
    return WarehouseStateStore(engine, table), engine


def _install_kill_switch(store: StateStore, engine: Any, kill_at: int) -> list[int]:
    count = [0]

    def _count(*_args: Any) -> None:
        count[0] += 1
        if count[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    if engine is None:
        assert isinstance(store, SQLiteStateStore)
        store._conn.set_trace_callback(_count)
    else:
        sa.event.listen(engine, "before_cursor_execute", _count)
        sa.event.listen(engine, "commit", _count)
    return count


def _crash(store: StateStore, engine: Any, kill_at: int) -> None:
    count = _install_kill_switch(store, engine, kill_at)
    apply(store)
    print(f"statements {count[0]}", flush=True)


def _race(store: StateStore) -> None:
    print("ready", flush=True)
    sys.stdin.readline()
    try:
        sync_lock = store.lock(NAME, owner=OWNER, timeout_seconds=900)
    except LockedError:
        print("locked", flush=True)
        return
    with sync_lock:
        print("won", flush=True)
        sys.stdin.read()


def main(argv: list[str]) -> None:
    kind, location, table, mode, *rest = argv
    store, engine = open_store(kind, location, table)
    if mode == "crash":
        _crash(store, engine, int(rest[0]))
    elif mode == "hold":
        store.lock(NAME, owner=OWNER, timeout_seconds=900)
        os._exit(0)
    elif mode == "race":
        _race(store)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    store.close()


if __name__ == "__main__":
    main(sys.argv[1:])

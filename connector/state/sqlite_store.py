"""State in a SQLite file, the default backend."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from connector.errors import StateError
from connector.records import Reject
from connector.state import sqlite_sql as sql
from connector.state.changes import (
    CheckpointChanges,
    chunked,
    merge_child_marks,
    plan_checkpoint,
    summarize,
)
from connector.state.cursor import load_cursor, load_cursor_map
from connector.state.lock import LockInfo, SyncLock, acquire_lock
from connector.state.records import (
    UNCHANGED,
    PendingReject,
    SyncState,
    Unchanged,
    format_time,
    parse_time,
)

logger = logging.getLogger(__name__)

# Keys per IN list, below the 999 bound parameters of SQLite before 3.32.
_KEYS_PER_QUERY = 500


class SQLiteStateStore:
    """State in a SQLite file in WAL mode. See ``StateStore`` for the methods.

    The parent folder is created when missing. One instance may be used from
    several threads because a mutex serialises access to its connection.
    """

    def __init__(self, path: str | Path, *, busy_timeout_seconds: float = 30.0):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path,
                timeout=busy_timeout_seconds,
                isolation_level=None,
                check_same_thread=False,
            )
        except (OSError, sqlite3.Error) as exc:
            raise self._error("open", exc) from exc
        self._mutex = threading.RLock()
        try:
            with self._errors("set up"):
                self._configure()
        except StateError:
            self._conn.close()
            raise

    def load(self, name: str) -> SyncState:
        with self._errors("read"), self._mutex:
            row = self._conn.execute(sql.SELECT_SYNC, (name,)).fetchone()
        if row is None:
            return SyncState(name=name)
        mark, children, mapping_fp, created, updated = row
        return SyncState(
            name=name,
            high_water_mark=load_cursor(mark),
            child_marks=load_cursor_map(children),
            mapping_fingerprint=mapping_fp,
            created_at=parse_time(created),
            updated_at=parse_time(updated),
        )

    def fingerprints(self, name: str, keys: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self._errors("read"), self._mutex:
            for chunk in chunked(keys, _KEYS_PER_QUERY):
                query = sql.SELECT_FINGERPRINTS.format(marks=_marks(len(chunk)))
                found.update(self._conn.execute(query, (name, *chunk)))
        return found

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
        changes = plan_checkpoint(
            accepted, rejected, high_water_mark, child_marks, mapping_fingerprint
        )
        with self._transaction("checkpoint") as conn:
            _ensure_sync(conn, name, changes.at)
            _write_accepted(conn, name, changes)
            _write_rejected(conn, name, changes)
            _write_marks(conn, name, changes)

    def pending_rejects(self, name: str) -> list[PendingReject]:
        with self._errors("read"), self._mutex:
            rows = self._conn.execute(sql.SELECT_REJECTS, (name,)).fetchall()
        return [_pending_reject(row) for row in rows]

    def set_high_water_mark(
        self, name: str, value: Any, *, child: str | None = None
    ) -> None:
        if child is None:
            self.checkpoint(name, accepted={}, rejected=(), high_water_mark=value)
        else:
            self.checkpoint(name, accepted={}, rejected=(), child_marks={child: value})

    def reset(self, name: str) -> None:
        with self._transaction("reset") as conn:
            for statement in sql.DELETE_SYNC_STATE:
                conn.execute(statement, (name,))
        logger.info("state of sync %s reset", name)

    def show(self, name: str) -> dict[str, Any]:
        state = self.load(name)
        with self._errors("read"), self._mutex:
            count = self._conn.execute(sql.COUNT_FINGERPRINTS, (name,)).fetchone()
            stages = self._conn.execute(sql.COUNT_REJECTS, (name,)).fetchall()
        return summarize(state, count[0], dict(stages), self.read_lock(name))

    def lock(self, name: str, *, owner: str, timeout_seconds: float) -> SyncLock:
        return acquire_lock(self, name, owner=owner, timeout_seconds=timeout_seconds)

    def break_lock(self, name: str) -> LockInfo | None:
        holder = self.read_lock(name)
        if holder is not None and self.delete_lock(name, holder.token):
            logger.warning("lock of sync %s removed: %s", name, holder.describe())
            return holder
        return None

    def close(self) -> None:
        with self._mutex:
            self._conn.close()

    def __enter__(self) -> SQLiteStateStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Lock rows, used by connector.state.lock.

    def insert_lock(self, name: str, info: LockInfo) -> bool:
        with self._transaction("lock") as conn:
            values = (name, *_lock_values(info))
            return conn.execute(sql.INSERT_LOCK, values).rowcount == 1

    def read_lock(self, name: str) -> LockInfo | None:
        with self._errors("read"), self._mutex:
            row = self._conn.execute(sql.SELECT_LOCK, (name,)).fetchone()
        return None if row is None else _lock_info(row)

    def replace_lock(self, name: str, old_token: str, info: LockInfo) -> bool:
        with self._transaction("lock") as conn:
            values = (*_lock_values(info), name, old_token)
            return conn.execute(sql.REPLACE_LOCK, values).rowcount == 1

    def touch_lock(self, name: str, token: str, at: datetime) -> bool:
        with self._transaction("heartbeat") as conn:
            values = (format_time(at), name, token)
            return conn.execute(sql.TOUCH_LOCK, values).rowcount == 1

    def delete_lock(self, name: str, token: str | None) -> bool:
        with self._transaction("unlock") as conn:
            if token is None:
                return conn.execute(sql.DELETE_ANY_LOCK, (name,)).rowcount > 0
            return conn.execute(sql.DELETE_LOCK, (name, token)).rowcount == 1

    # Connection handling.

    def _configure(self) -> None:
        mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal":
            logger.warning(
                "state file %s does not support WAL mode, using %s", self.path, mode
            )
        # FULL syncs the WAL at each commit, so a checkpoint survives power loss.
        self._conn.execute("PRAGMA synchronous=FULL")
        with self._transaction("set up") as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > sql.SCHEMA_VERSION:
                raise StateError(
                    f"state file {self.path} has schema version {version}, but "
                    "this version of northbeam-sync reads at most version "
                    f"{sql.SCHEMA_VERSION}. Upgrade northbeam-sync"
                )
            for statement in sql.CREATE_SCHEMA:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={sql.SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        """Run the block in BEGIN IMMEDIATE ... COMMIT, rolling back on error."""
        with self._errors(action), self._mutex:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.rollback()
                raise

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise self._error(action, exc) from exc

    def _error(self, action: str, exc: Exception) -> StateError:
        hint = (
            "Another process holds a write lock on the file, so retry later"
            if "locked" in str(exc) or "busy" in str(exc)
            else "Check that the file is writable and is a northbeam-sync state file"
        )
        return StateError(f"state file {self.path}: {action} failed ({exc}). {hint}")


def _ensure_sync(conn: sqlite3.Connection, name: str, at: datetime) -> None:
    now = format_time(at)
    conn.execute(sql.INSERT_SYNC, (name, now, now))


def _write_accepted(
    conn: sqlite3.Connection, name: str, changes: CheckpointChanges
) -> None:
    rows = [(name, key, fp) for key, fp in changes.accepted.items()]
    conn.executemany(sql.UPSERT_FINGERPRINT, rows)
    # Most checkpoints find no pending reject at all; one probe then saves a
    # delete per accepted order. Both run in the same transaction.
    if conn.execute(sql.ANY_REJECT, (name,)).fetchone() is not None:
        conn.executemany(sql.DELETE_REJECT, [(name, key) for key in changes.accepted])


def _write_rejected(
    conn: sqlite3.Connection, name: str, changes: CheckpointChanges
) -> None:
    now = format_time(changes.at)
    keys = [(name, key) for key in changes.rejected]
    conn.executemany(sql.DELETE_FINGERPRINT, keys)
    rows = [
        (name, r.order_key, r.stage, r.reason, r.order_id, r.field_path, now, now)
        for r in changes.rejected.values()
    ]
    conn.executemany(sql.UPSERT_REJECT, rows)


def _write_marks(
    conn: sqlite3.Connection, name: str, changes: CheckpointChanges
) -> None:
    assignments = ["updated_at = ?"]
    values: list[Any] = [format_time(changes.at)]
    if not isinstance(changes.high_water_mark, Unchanged):
        assignments.append("high_water_mark = ?")
        values.append(changes.high_water_mark)
    if not isinstance(changes.mapping_fingerprint, Unchanged):
        assignments.append("mapping_fingerprint = ?")
        values.append(changes.mapping_fingerprint)
    if changes.child_marks is not None:
        stored = conn.execute(sql.SELECT_CHILD_MARKS, (name,)).fetchone()[0]
        assignments.append("child_marks = ?")
        values.append(merge_child_marks(stored, changes.child_marks))
    statement = sql.UPDATE_SYNC.format(assignments=", ".join(assignments))
    conn.execute(statement, (*values, name))


def _pending_reject(row: tuple[Any, ...]) -> PendingReject:
    key, stage, reason, order_id, field_path, first, last, attempts = row
    return PendingReject(
        order_key=key,
        stage=stage,
        reason=reason,
        first_seen=datetime.fromisoformat(first),
        last_seen=datetime.fromisoformat(last),
        attempts=attempts,
        order_id=order_id,
        field_path=field_path,
    )


def _lock_values(info: LockInfo) -> tuple[Any, ...]:
    return (
        info.token,
        info.owner,
        info.host,
        info.pid,
        format_time(info.acquired_at),
        format_time(info.heartbeat_at),
    )


def _lock_info(row: tuple[Any, ...]) -> LockInfo:
    token, owner, host, pid, acquired, heartbeat = row
    return LockInfo(
        owner=owner,
        host=host,
        pid=pid,
        token=token,
        acquired_at=datetime.fromisoformat(acquired),
        heartbeat_at=datetime.fromisoformat(heartbeat),
    )


def _marks(count: int) -> str:
    return ", ".join("?" * count)

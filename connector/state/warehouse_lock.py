"""Lock rows of the warehouse state store.

A takeover is ``UPDATE ... WHERE token = old`` followed by reading the token
back in the same transaction, because some drivers (DuckDB) report no
reliable row counts. On PostgreSQL a second swap waits for the first to
commit and then matches no row. On DuckDB it fails with a write-write
conflict, which counts as losing the race.

NOTE: a new lock row relies on the primary key rejecting a second row. On
warehouses that do not enforce primary keys (Snowflake), two runs starting
at the same moment could both take a new sync's lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    Table,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from connector.state.lock import LockInfo
from connector.state.records import format_time
from connector.state.warehouse_tables import state_error


class WarehouseLockRows:
    """Lock-row operations on the ``_locks`` table, each in one transaction."""

    def __init__(self, engine: Engine, locks: Table, table_name: str) -> None:
        self._engine = engine
        self._locks = locks
        self._table_name = table_name

    def insert_lock(self, name: str, info: LockInfo) -> bool:
        row = {"sync_name": name, **_lock_row(info)}
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(self._locks).values(row))
        except (IntegrityError, OperationalError):
            # A duplicate key, or a DuckDB write-write conflict, both mean
            # that another run inserted first; the caller reads its row.
            return False
        except SQLAlchemyError as exc:
            raise state_error(self._table_name, "lock", exc) from exc
        return True

    def read_lock(self, name: str) -> LockInfo | None:
        locks = self._locks
        query = select(locks).where(locks.c.sync_name == name)
        with self._begin("read lock") as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _lock_info(row)

    def replace_lock(self, name: str, old_token: str, info: LockInfo) -> bool:
        locks = self._locks
        swap = (
            update(locks)
            .where(locks.c.sync_name == name, locks.c.token == old_token)
            .values(_lock_row(info))
        )
        try:
            with self._engine.begin() as conn:
                conn.execute(swap)
                return self._token(conn, name) == info.token
        except OperationalError:
            return False
        except SQLAlchemyError as exc:
            raise state_error(self._table_name, "lock", exc) from exc

    def touch_lock(self, name: str, token: str, at: datetime) -> bool:
        locks = self._locks
        touch = (
            update(locks)
            .where(locks.c.sync_name == name, locks.c.token == token)
            .values(heartbeat_at=format_time(at))
        )
        with self._begin("heartbeat") as conn:
            conn.execute(touch)
            return self._token(conn, name) == token

    def delete_lock(self, name: str, token: str | None) -> bool:
        locks = self._locks
        with self._begin("unlock") as conn:
            current = self._token(conn, name)
            if current is None or token not in (None, current):
                return False
            conn.execute(
                delete(locks).where(locks.c.sync_name == name, locks.c.token == current)
            )
            return True

    def _token(self, conn: Connection, name: str) -> str | None:
        locks = self._locks
        query = select(locks.c.token).where(locks.c.sync_name == name)
        token: str | None = conn.execute(query).scalar_one_or_none()
        return token

    @contextmanager
    def _begin(self, action: str) -> Iterator[Connection]:
        try:
            with self._engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise state_error(self._table_name, action, exc) from exc


def _lock_row(info: LockInfo) -> dict[str, Any]:
    return {
        "token": info.token,
        "owner": info.owner,
        "host": info.host,
        "pid": info.pid,
        "acquired_at": format_time(info.acquired_at),
        "heartbeat_at": format_time(info.heartbeat_at),
    }


def _lock_info(row: RowMapping) -> LockInfo:
    return LockInfo(
        owner=row["owner"],
        host=row["host"],
        pid=row["pid"],
        token=row["token"],
        acquired_at=datetime.fromisoformat(row["acquired_at"]),
        heartbeat_at=datetime.fromisoformat(row["heartbeat_at"]),
    )

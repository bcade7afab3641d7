"""Lock that lets one run at a time write the state of a sync.

A store keeps one lock row per sync name. A run takes the lock by inserting
its row. When a row exists already, the run takes it over only if the row is
stale, which means that its holder ran on this host and its pid is gone, or
that its last heartbeat is older than the timeout. A takeover is a
compare-and-swap on the holder's random token, so of two runs racing for one
stale lock exactly one wins.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol

from connector.errors import LockedError
from connector.state.records import format_time, utc_now

logger = logging.getLogger(__name__)

# Each round inserts, reads and swaps. Running out of rounds needs the lock
# to change holders between those steps in every round.
_ACQUIRE_ROUNDS = 3


@dataclass(frozen=True, slots=True)
class LockInfo:
    """Holder of a sync's lock, where ``token`` identifies one acquisition."""

    owner: str
    host: str
    pid: int
    token: str
    acquired_at: datetime
    heartbeat_at: datetime

    def describe(self) -> str:
        """Describe the holder for messages, without the token."""
        return (
            f"{self.owner!r} on host {self.host} (pid {self.pid}) since "
            f"{format_time(self.acquired_at)}, last heartbeat "
            f"{format_time(self.heartbeat_at)}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the holder as JSON-friendly values, without the token."""
        return {
            "owner": self.owner,
            "host": self.host,
            "pid": self.pid,
            "acquired_at": format_time(self.acquired_at),
            "heartbeat_at": format_time(self.heartbeat_at),
        }


class LockRows(Protocol):
    """Lock-row operations that a store provides, each in one transaction."""

    def insert_lock(self, name: str, info: LockInfo) -> bool:
        """Insert the lock row, or return False if a row exists."""
        ...

    def read_lock(self, name: str) -> LockInfo | None:
        """Return the lock row, or None when the sync is not locked."""
        ...

    def replace_lock(self, name: str, old_token: str, info: LockInfo) -> bool:
        """Replace the row whose token is ``old_token`` and return whether it did."""
        ...

    def touch_lock(self, name: str, token: str, at: datetime) -> bool:
        """Set the heartbeat of the row with ``token`` and return whether it did."""
        ...

    def delete_lock(self, name: str, token: str | None) -> bool:
        """Delete the row with ``token`` (any row if None) and return whether it did."""
        ...


class SyncLock:
    """A held lock, which the context manager releases on exit.

    The run calls :meth:`heartbeat` regularly (see ``LockKeeper``) so
    that other runs do not consider the lock stale.
    """

    def __init__(self, rows: LockRows, name: str, info: LockInfo) -> None:
        self._rows = rows
        self.name = name
        self.info = info
        self._released = False

    def heartbeat(self) -> None:
        """Record that the holder is alive.

        Raises:
            LockedError: another run took the lock over, so this run must
                stop writing state.
        """
        if self._rows.touch_lock(self.name, self.info.token, utc_now()):
            return
        holder = self._rows.read_lock(self.name)
        now = f"is now held by {holder.describe()}" if holder else "was removed"
        raise LockedError(
            f"the lock of sync {self.name!r} {now}, so this run stops before "
            "two runs write the same state. Another run takes the lock over "
            "when this run's last heartbeat is older than the lock timeout, "
            "and the lock can be removed by hand. If runs pause for longer "
            "than state.lock_timeout_seconds, raise that setting"
        )

    def release(self) -> None:
        """Delete the lock row if this run still holds it."""
        if self._released:
            return
        self._released = True
        if not self._rows.delete_lock(self.name, self.info.token):
            logger.warning(
                "lock of sync %s was already taken over or removed at release",
                self.name,
            )

    def __enter__(self) -> SyncLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def acquire_lock(
    rows: LockRows, name: str, *, owner: str, timeout_seconds: float
) -> SyncLock:
    """Take the lock of sync ``name``, taking over a stale lock.

    Raises:
        LockedError: a live run holds the lock; the message names it.
    """
    for _ in range(_ACQUIRE_ROUNDS):
        mine = _new_info(owner)
        if rows.insert_lock(name, mine):
            return SyncLock(rows, name, mine)

        current = rows.read_lock(name)
        if current is None:
            continue
        reason = stale_reason(current, timeout_seconds)
        if reason is None:
            raise LockedError(_held_message(name, current, timeout_seconds))
        if rows.replace_lock(name, current.token, mine):
            logger.warning(
                "took over stale lock of sync %s from %s: %s",
                name,
                current.describe(),
                reason,
            )
            return SyncLock(rows, name, mine)
    raise LockedError(
        f"the lock of sync {name!r} changed holders while this run tried to "
        "take it, so another run is probably starting. Try again later"
    )


def stale_reason(
    info: LockInfo, timeout_seconds: float, now: datetime | None = None
) -> str | None:
    """Return why the lock is stale, or None while its holder may be alive."""
    # NOTE: the pid check assumes host names are unique per PID namespace, and
    # the age check assumes the hosts' clocks agree to well within the timeout.
    now = now or utc_now()
    if info.host == socket.gethostname() and not is_pid_alive(info.pid):
        return f"pid {info.pid} is not running on this host"
    age = now - info.heartbeat_at
    if age > timedelta(seconds=timeout_seconds):
        return (
            f"last heartbeat {age.total_seconds():.0f} s ago, "
            f"timeout {timeout_seconds:g} s"
        )
    return None


def is_pid_alive(pid: int) -> bool:
    """Return whether a process with this pid exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _new_info(owner: str) -> LockInfo:
    now = utc_now()
    return LockInfo(
        owner=owner,
        host=socket.gethostname(),
        pid=os.getpid(),
        token=uuid.uuid4().hex,
        acquired_at=now,
        heartbeat_at=now,
    )


def _held_message(name: str, holder: LockInfo, timeout_seconds: float) -> str:
    expiry = holder.heartbeat_at + timedelta(seconds=timeout_seconds)
    return (
        f"sync {name!r} is locked by {holder.describe()}. Another run of "
        "this sync is probably in progress, so wait for it to finish and try "
        "again. If that run has died, a new run takes the lock over: on host "
        f"{holder.host} at once, because pid {holder.pid} is gone, and on "
        f"other hosts after {format_time(expiry)}, when the heartbeat is "
        f"older than {timeout_seconds:g} s"
    )

"""The sync lock: one holder, stale takeover, and races for a stale lock."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from state_backends import Backend
from state_worker import NAME, OWNER

from connector.errors import LockedError
from connector.state import StateStore
from connector.state.lock import LockInfo, LockRows, is_pid_alive

RACERS = 4


def _lock_rows(store: StateStore) -> LockRows:
    """Return the store's lock-row operations (the warehouse store delegates)."""
    rows: LockRows = getattr(store, "_locks", store)
    return rows


def _leave_dead_holder(backend: Backend) -> LockInfo:
    """Let a worker take the lock and exit without releasing it."""
    backend.release()
    result = backend.run_worker("hold")
    assert result.returncode == 0, result.stderr
    holder = backend.open().show(NAME)["lock"]
    assert holder is not None
    assert holder["owner"] == OWNER
    assert not is_pid_alive(holder["pid"])
    dead = backend.open().read_lock(NAME)
    assert dead is not None
    return dead


def test_lock_second_holder_refused(backend: Backend) -> None:
    first, second = backend.open(), backend.open()

    with (
        first.lock(NAME, owner="nightly run", timeout_seconds=900),
        pytest.raises(LockedError) as caught,
    ):
        second.lock(NAME, owner="manual run", timeout_seconds=900)

    message = str(caught.value)
    assert "'nightly run'" in message
    assert f"host {socket.gethostname()}" in message
    assert f"pid {os.getpid()}" in message
    assert "since " in message
    assert "older than 900 s" in message
    assert caught.value.retryable is True


def test_lock_released_on_exit(backend: Backend) -> None:
    first, second = backend.open(), backend.open()

    with first.lock(NAME, owner="one", timeout_seconds=900):
        pass
    with second.lock(NAME, owner="two", timeout_seconds=900):
        assert second.show(NAME)["lock"]["owner"] == "two"

    assert first.show(NAME)["lock"] is None


def test_lock_per_sync_name(store: StateStore) -> None:
    with (
        store.lock(NAME, owner="one", timeout_seconds=900),
        store.lock("other", owner="two", timeout_seconds=900),
    ):
        assert store.show("other")["lock"]["owner"] == "two"


def test_lock_heartbeat_moves_forward(store: StateStore) -> None:
    with store.lock(NAME, owner="run", timeout_seconds=900) as sync_lock:
        before = store.read_lock(NAME)
        time.sleep(0.01)
        sync_lock.heartbeat()
        after = store.read_lock(NAME)

    assert before is not None
    assert after is not None
    assert after.heartbeat_at > before.heartbeat_at
    assert after.acquired_at == before.acquired_at


def test_lock_dead_holder_taken_over(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    dead = _leave_dead_holder(backend)
    store = backend.open()

    with (
        caplog.at_level(logging.WARNING, logger="connector.state.lock"),
        store.lock(NAME, owner="next run", timeout_seconds=900),
    ):
        assert store.show(NAME)["lock"]["owner"] == "next run"

    assert f"pid {dead.pid} is not running on this host" in caplog.text


def test_lock_old_heartbeat_taken_over(backend: Backend) -> None:
    """A holder silent for longer than the timeout loses the lock."""
    first, second = backend.open(), backend.open()
    stuck_lock = first.lock(NAME, owner="stuck run", timeout_seconds=900)
    info = first.read_lock(NAME)
    assert info is not None
    old = info.heartbeat_at - timedelta(seconds=120)
    assert _lock_rows(first).touch_lock(NAME, info.token, old)

    with pytest.raises(LockedError):
        second.lock(NAME, owner="next run", timeout_seconds=900)
    with second.lock(NAME, owner="next run", timeout_seconds=60):
        with pytest.raises(LockedError, match="now held by 'next run'"):
            stuck_lock.heartbeat()
        stuck_lock.release()
        assert second.show(NAME)["lock"]["owner"] == "next run"


def test_lock_swap_of_same_token_wins_once(backend: Backend) -> None:
    """Two runs that read the same stale holder: only one swap succeeds."""
    dead = _leave_dead_holder(backend)
    first, second = backend.open(), backend.open()
    mine = LockInfo("a", "host", 1, "a" * 32, dead.acquired_at, dead.heartbeat_at)
    theirs = LockInfo("b", "host", 2, "b" * 32, dead.acquired_at, dead.heartbeat_at)

    won_first = _lock_rows(first).replace_lock(NAME, dead.token, mine)
    won_second = _lock_rows(second).replace_lock(NAME, dead.token, theirs)

    assert (won_first, won_second) == (True, False)
    assert second.read_lock(NAME) == mine


def _race_processes(backend: Backend) -> list[str]:
    racers = [
        subprocess.Popen(
            backend.worker_command("race"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(RACERS)
    ]
    try:
        for racer in racers:
            assert racer.stdout is not None
            assert racer.stdout.readline().strip() == "ready"
        for racer in racers:
            assert racer.stdin is not None
            racer.stdin.write("go\n")
            racer.stdin.flush()
        results = [racer.stdout.readline().strip() for racer in racers]  # type: ignore[union-attr]
    finally:
        for racer in racers:
            racer.communicate(timeout=60)
    return results


def _race_threads(backend: Backend) -> list[str]:
    stores = [backend.open() for _ in range(RACERS)]
    barrier = threading.Barrier(RACERS)
    results: list[str] = []
    winners: list[Any] = []

    def _race(store: StateStore) -> None:
        barrier.wait()
        try:
            winners.append(store.lock(NAME, owner="racer", timeout_seconds=900))
            results.append("won")
        except LockedError:
            results.append("locked")

    threads = [threading.Thread(target=_race, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for lock in winners:
        lock.release()
    return results


def test_lock_stale_race_one_winner(backend: Backend) -> None:
    """Racers start together against a lock left by a dead process."""
    _leave_dead_holder(backend)

    if backend.shares_processes:
        backend.release()
        results = _race_processes(backend)
    else:
        results = _race_threads(backend)

    assert sorted(results) == ["locked"] * (RACERS - 1) + ["won"]


def test_lock_break_removes_holder(store: StateStore) -> None:
    stuck_lock = store.lock(NAME, owner="stuck run", timeout_seconds=900)

    removed = store.break_lock(NAME)

    assert removed is not None
    assert removed.owner == "stuck run"
    assert store.show(NAME)["lock"] is None
    assert store.break_lock(NAME) is None
    with pytest.raises(LockedError, match="was removed"):
        stuck_lock.heartbeat()


def test_is_pid_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    assert child.wait(timeout=60) == 0

    assert not is_pid_alive(child.pid)
    assert is_pid_alive(os.getpid())
    assert not is_pid_alive(0)
    assert not is_pid_alive(-5)

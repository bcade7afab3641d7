"""A checkpoint killed at any SQL statement leaves the old or the new state."""

from __future__ import annotations

import signal

from state_backends import Backend
from state_worker import NEW_SNAPSHOT, OLD_SNAPSHOT, seed, snapshot


def _seed_fresh(backend: Backend) -> None:
    store = backend.open()
    store.reset("orders")
    seed(store)
    assert snapshot(store) == OLD_SNAPSHOT
    backend.release()


def _state_after_kill(backend: Backend, kill_at: int) -> tuple[int, object]:
    _seed_fresh(backend)
    result = backend.run_worker("crash", str(kill_at))
    assert result.returncode in (0, -signal.SIGKILL), result.stderr
    state = snapshot(backend.open())
    backend.release()
    return result.returncode, state


def test_checkpoint_killed_at_each_statement(backend: Backend) -> None:
    """Kill the writer before statement 1, 2, ... until it runs to the end."""
    outcomes = []
    kill_at = 1
    while True:
        code, state = _state_after_kill(backend, kill_at)
        assert state in (OLD_SNAPSHOT, NEW_SNAPSHOT), f"mixed state at {kill_at}"
        outcomes.append(state == NEW_SNAPSHOT)
        if code == 0:
            break
        kill_at += 1

    assert outcomes[0] is False
    assert outcomes[-1] is True
    first_new = outcomes.index(True)
    assert all(outcomes[first_new:]), "state went back to old after a commit"

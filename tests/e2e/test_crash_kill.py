"""SIGKILL a running sync at many points; the next run must lose nothing.

The sync runs as ``python -m connector run`` in a child process against a
stand-in in the test process. The stand-in's ``on_store`` hook counts
requests that stored orders and kills the child at the Nth one, either
before the stand-in responds (the batch is stored, but the child never
learns it, so it never checkpoints it) or a moment after the response (the
child may be checkpointing or sending the next batch). After each kill the
test checks the state the child left: every order below its high-water mark
must be in the stand-in with its latest values, or be a pending reject.
Then it changes more data and runs again to completion, in process: every
order must arrive with its latest values, and the dead run's lock must be
taken over without help.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from incremental_shop import (
    Item,
    Shop,
    load_state,
    minutes,
    orders_behind_mark,
    stale_orders,
    write_config,
    write_mapping,
)
from testdata import TEST_CLIENT, TEST_KEY

from connector import api, log
from connector.standin import Faults, RequestRecord, StandIn


class Killer:
    """Stand-in hook that SIGKILLs the child at its Nth stored request.

    Requests are counted only while a child is set, so runs made in process
    before the child starts do not count.
    """

    def __init__(self, at_store: int, *, after_response: bool) -> None:
        self.at_store = at_store
        self.after_response = after_response
        self.pid: int | None = None
        self.stores = 0
        self.killed = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, record: RequestRecord) -> None:
        with self._lock:
            if self.pid is None:
                return
            self.stores += 1
            if self.stores != self.at_store:
                return
        if self.after_response:
            # Let the response go out first. The child is then between the
            # response and its checkpoint, or already past both.
            threading.Timer(0.02, self._kill).start()
        else:
            self._kill()

    def _kill(self) -> None:
        with self._lock:
            pid = self.pid
        if pid is None:
            return
        # Set first: the test may read it as soon as the child is gone.
        self.killed.set()
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            # The child finished first, and the test reports it was not killed.
            self.killed.clear()

    def disarm(self) -> None:
        with self._lock:
            self.pid = None


def _seed_shop(shop: Shop) -> None:
    """Twenty orders on ten cursor values (ties in pairs) and one bad order."""
    with shop.session():
        for number in range(20):
            shop.add_order(f"o{number:02d}", minutes(number // 2))
        shop.add_order("bad-1", minutes(3), items=())


def _change_before_killed_run(shop: Shop) -> None:
    """Give the killed run a revisit pass and a window pass to crash in."""
    with shop.session():
        # A fixed reject whose cursor jumps past the new orders.
        shop.add_item("bad-1", Item("sku-1"), minutes(100))
        shop.update_order("bad-1", minutes(100))
        # Child changes on old orders whose own cursor did not move.
        shop.set_item("o03", "sku-1", minutes(40), qty=3)
        shop.add_refund("o05", "sku-1", minutes(41))
        # An old order updated, and new orders in tied pairs.
        shop.update_order("o07", minutes(45), total_cents=1500)
        for number in range(20, 44):
            shop.add_order(f"o{number:02d}", minutes(50 + number // 2))
        shop.add_order("bad-2", minutes(55), items=())


def _change_before_rerun(shop: Shop) -> None:
    """Change orders the killed run may have sent already, so old copies go stale."""
    with shop.session():
        shop.update_order("o21", minutes(90), total_cents=2100)
        shop.set_item("o30", "sku-1", minutes(91), price_cents=3000)
        shop.update_order("o01", minutes(92), tax_cents=99)


def _run_child(
    config: Path, killer: Killer, *options: str
) -> subprocess.CompletedProcess[bytes]:
    child = subprocess.Popen(
        [sys.executable, "-m", "connector", "run", "-c", str(config), *options],
        cwd=config.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    killer.pid = child.pid
    # Waiting also reaps the child, so its pid is gone for the lock check.
    stdout, stderr = child.communicate(timeout=60)
    return subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)


#: (scenario, Nth stored request of the killed run, kill after the response).
#: The initial run makes 7 requests, the incremental run about 10.
KILL_POINTS = [
    ("initial", 1, False),
    ("initial", 3, True),
    ("initial", 5, False),
    ("initial", 7, False),
    ("incremental", 1, False),
    ("incremental", 2, False),
    ("incremental", 3, True),
    ("incremental", 5, False),
    ("incremental", 8, True),
    ("incremental", 10, False),
]


@pytest.mark.parametrize(("scenario", "at_store", "after_response"), KILL_POINTS)
def test_crash_then_rerun_loses_nothing(
    tmp_path: Path,
    api_env: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    scenario: str,
    at_store: int,
    after_response: bool,
) -> None:
    log.reset()
    shop = Shop(tmp_path)
    _seed_shop(shop)
    write_mapping(tmp_path)
    killer = Killer(at_store, after_response=after_response)
    faults = Faults(seed=at_store, slow_rate=0.4, slow_seconds=0.05)
    with StandIn(
        api_key=TEST_KEY, client_id=TEST_CLIENT, faults=faults, on_store=killer
    ) as standin:
        config = write_config(tmp_path, standin.url, batch_size=3)
        if scenario == "incremental":
            api.sync(config)
            _change_before_killed_run(shop)

        child = _run_child(config, killer)

        assert killer.killed.is_set(), child.stderr.decode()
        assert child.returncode == -signal.SIGKILL
        after_kill = load_state(tmp_path)
        assert orders_behind_mark(shop, after_kill, standin.orders()) == []
        # A kill after the last response can land after the lock's release.
        assert after_kill.lock_pid in (killer.pid, None)

        killer.disarm()
        _change_before_rerun(shop)
        with caplog.at_level(logging.WARNING, logger="connector"):
            summary = api.sync(config)

        stored = standin.orders()
        assert stale_orders(shop, stored) == []
        bad = shop.orders_without_items()
        assert not bad & set(stored)
        state = load_state(tmp_path)
        assert state.mark == max(shop.cursors().values())
        assert state.pending == bad
        assert summary.rejected + summary.still_rejected == len(bad)
        if after_kill.lock_pid is not None:
            assert "took over stale lock" in caplog.text
            assert f"pid {after_kill.lock_pid} is not running" in caplog.text
        assert load_state(tmp_path).lock_pid is None

        again = api.sync(config)
        assert again.orders_sent == 0
        assert standin.orders() == stored


def test_killed_full_refresh_keeps_child_changes(
    tmp_path: Path, api_env: dict[str, str]
) -> None:
    """A full refresh killed early must not skip a refund it never reached.

    The refunds on o10 and o19 are child changes waiting for the next run. A
    full refresh reads orders by cursor and is killed at its first request,
    long before o10; the next incremental run must still send o10's refund.
    """
    shop = Shop(tmp_path)
    _seed_shop(shop)
    write_mapping(tmp_path)
    killer = Killer(1, after_response=False)
    with StandIn(api_key=TEST_KEY, client_id=TEST_CLIENT, on_store=killer) as standin:
        config = write_config(tmp_path, standin.url, batch_size=3)
        api.sync(config)
        shop.add_refund("o10", "sku-1", minutes(30))
        # A later refund puts the refunds' maximum past o10's.
        shop.add_refund("o19", "sku-1", minutes(31))

        child = _run_child(config, killer, "--full-refresh")

        assert child.returncode == -signal.SIGKILL
        after_kill = load_state(tmp_path)
        assert orders_behind_mark(shop, after_kill, standin.orders()) == []
        killer.disarm()
        api.sync(config)
        assert stale_orders(shop, standin.orders()) == []


def test_mapping_change_after_killed_first_run(
    tmp_path: Path, api_env: dict[str, str]
) -> None:
    """A first run killed halfway records its mapping, so a new one is noticed.

    Orders below the mark of the killed run were sent with the old mapping.
    After the mapping changes, the next run must compare all of them again.
    """
    shop = Shop(tmp_path)
    _seed_shop(shop)
    write_mapping(tmp_path)
    killer = Killer(4, after_response=False)
    with StandIn(api_key=TEST_KEY, client_id=TEST_CLIENT, on_store=killer) as standin:
        # One batch in flight: the first batch's response is then
        # checkpointed before the third batch is sent, so the mark exists at
        # the kill.
        # With two in flight, the second batch can finish first and the kill
        # can land before the first one's checkpoint.
        config = write_config(tmp_path, standin.url, batch_size=3, max_in_flight=1)

        child = _run_child(config, killer)

        assert child.returncode == -signal.SIGKILL
        assert load_state(tmp_path).mark is not None
        killer.disarm()
        write_mapping(tmp_path, fields_extra="  order_tags: {value: web}\n")
        summary = api.sync(config)

        assert summary.mode == "mapping or target changed"
        stored = standin.orders()
        assert {
            order_id for order_id in stored if "order_tags" in stored[order_id]
        } == (set(shop.expected()))

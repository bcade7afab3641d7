"""Backfills, state commands and the run lock, through the command line.

The CLI runs in process with click's test runner; the stand-in runs on
127.0.0.1 in the test process.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from incremental_shop import (
    Shop,
    email_of,
    load_state,
    minutes,
    write_config,
    write_mapping,
)
from testdata import TEST_CLIENT, TEST_KEY

from connector import api, log
from connector.cli import main
from connector.standin import RequestRecord, StandIn


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    log.reset()


@pytest.fixture
def shop(tmp_path: Path, api_env: dict[str, str]) -> Shop:
    write_mapping(tmp_path)
    shop = Shop(tmp_path)
    with shop.session():
        for number in range(6):
            shop.add_order(f"o{number}", minutes(number))
    return shop


def cli(*args: str | Path, code: int = 0) -> Result:
    result = CliRunner().invoke(main, [str(arg) for arg in args])
    assert result.exit_code == code, result.output
    return result


def state_show(config: Path) -> dict[str, Any]:
    result = cli("state", "show", "-c", config)
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def assert_no_personal_data(text: str, shop: Shop) -> None:
    for order_id in shop.order_ids():
        assert email_of(order_id) not in text
    assert "@example.com" not in text


def test_backfill_resends_range_keeps_mark(shop: Shop, standin: StandIn) -> None:
    config = write_config(shop.folder, standin.url)
    cli("run", "-c", config)
    mark = state_show(config)["high_water_mark"]

    result = cli(
        "run",
        "-c",
        config,
        "--since",
        "2024-03-01T12:01:00",
        "--until",
        "2024-03-01T12:03:00",
    )

    counts = standin.write_counts()
    assert {key for key, count in counts.items() if count == 2} == {"o1", "o2"}
    assert "backfill" in result.stdout
    assert state_show(config)["high_water_mark"] == mark
    assert mark == {"type": "timestamp", "value": "2024-03-01T12:05:00"}
    assert_no_personal_data(result.output, shop)


def test_backfill_keeps_pending_rejects(shop: Shop, standin: StandIn) -> None:
    """A backfill neither retries nor clears the pending rejects."""
    shop.add_order("bad", minutes(9), items=())
    config = write_config(shop.folder, standin.url)
    cli("run", "-c", config)

    cli(
        "run",
        "-c",
        config,
        "--since",
        "2024-03-01T12:00:00",
        "--until",
        "2024-03-01T12:01:00",
    )

    assert load_state(shop.folder).pending == {"bad"}
    assert state_show(config)["pending_rejects"]["total"] == 1


def test_state_show_prints_no_personal_data(shop: Shop, standin: StandIn) -> None:
    shop.add_order("bad", minutes(9), items=())
    config = write_config(shop.folder, standin.url)
    run = cli("run", "-c", config)

    shown = cli("state", "show", "-c", config)

    document = json.loads(shown.stdout)
    assert document["name"] == "orders"
    assert document["fingerprints"] == 6
    assert document["pending_rejects"] == {"total": 1, "by_stage": {"validation": 1}}
    assert document["lock"] is None
    assert_no_personal_data(shown.output, shop)
    assert_no_personal_data(run.output, shop)
    assert TEST_KEY not in run.output + shown.output


def test_state_reset_resends_everything(shop: Shop, standin: StandIn) -> None:
    config = write_config(shop.folder, standin.url)
    cli("run", "-c", config)

    cli("state", "reset", "-c", config, "--yes")

    assert state_show(config)["high_water_mark"] is None
    result = cli("run", "-c", config, "--json")
    summary = json.loads(result.stdout)
    assert summary["mode"] == "initial"
    assert summary["orders_sent"] == 6
    assert set(standin.write_counts().values()) == {2}


def test_state_set_starts_next_run_there(shop: Shop, standin: StandIn) -> None:
    """A mark set by hand before the first run skips the orders below it."""
    config = write_config(shop.folder, standin.url)

    result = cli("state", "set", "-c", config, "--cursor", "2024-03-01T12:03:00")

    assert "high-water mark set to 2024-03-01T12:03:00" in result.stdout
    first = json.loads(cli("run", "-c", config, "--json").stdout)
    assert first["mode"] == "incremental"
    assert set(standin.orders()) == {"o3", "o4", "o5"}
    second = json.loads(cli("run", "-c", config, "--json").stdout)
    assert second["mode"] == "incremental"
    assert second["orders_sent"] == 0


class Gate:
    """Stand-in hook that holds the first stored request until released."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()

    def __call__(self, record: RequestRecord) -> None:
        if not self.reached.is_set():
            self.reached.set()
            self.release.wait(timeout=30)


def test_second_run_stops_on_lock(shop: Shop, api_env: dict[str, str]) -> None:
    """While one run is in flight, a second run of the sync exits with code 4."""
    gate = Gate()
    with StandIn(api_key=TEST_KEY, client_id=TEST_CLIENT, on_store=gate) as standin:
        config = write_config(shop.folder, standin.url)
        outcome: dict[str, Any] = {}
        first = threading.Thread(
            target=lambda: outcome.update(summary=api.sync(config)), daemon=True
        )
        first.start()
        assert gate.reached.wait(timeout=30)

        second = cli("run", "-c", config, code=4)

        gate.release.set()
        first.join(timeout=30)
        assert "is locked by" in second.output
        assert "Another run of this sync is probably in progress" in second.output
        assert outcome["summary"].orders_sent == 6
        assert load_state(shop.folder).lock_pid is None


def test_backfill_zoned_cursor_needs_offset(
    tmp_path: Path, api_env: dict[str, str], standin: StandIn
) -> None:
    """A bound without offset on a zoned cursor fails with what to type instead."""
    write_mapping(tmp_path)
    shop = Shop(tmp_path, "timestamptz")
    shop.add_order("a", datetime(2024, 3, 1, 12, tzinfo=UTC))
    config = write_config(tmp_path, standin.url)

    naive = cli("run", "-c", config, "--since", "2024-03-01T00:00:00", code=2)
    day = cli("run", "-c", config, "--since", "2024-03-01", code=2)
    reversed_range = cli(
        "run",
        "-c",
        config,
        "--since",
        "2024-03-02T00:00:00+00:00",
        "--until",
        "2024-03-01T00:00:00+00:00",
        code=2,
    )
    cli("run", "-c", config, "--since", "2024-03-01T00:00:00+00:00")

    assert "--since 2024-03-01T00:00:00 is a timestamp without offset" in naive.output
    assert "timestamp with offset" in naive.output
    assert "--since 2024-03-01 is a date" in day.output
    assert (
        "--since 2024-03-02T00:00:00+00:00 is not before --until "
        "2024-03-01T00:00:00+00:00, so the backfill range is empty"
    ) in reversed_range.output
    assert set(standin.orders()) == {"a"}


def test_dry_run_keeps_state(shop: Shop, standin: StandIn) -> None:
    config = write_config(shop.folder, standin.url)
    cli("run", "-c", config)
    before = state_show(config)
    shop.update_order("o1", minutes(30), total_cents=5000)

    cli("run", "-c", config, "--dry-run", shop.folder / "out.jsonl")

    lines = (shop.folder / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["order_id"] for line in lines] == ["o1"]
    after = state_show(config)
    assert after["high_water_mark"] == before["high_water_mark"]
    assert after["fingerprints"] == before["fingerprints"]
    assert standin.write_counts()["o1"] == 1

"""Rejected orders across runs, the reject ceiling, API rejects, mapping changes."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from incremental_shop import (
    DAY,
    Item,
    Shop,
    load_state,
    minutes,
    stale_orders,
    write_config,
    write_mapping,
)
from testdata import TEST_CLIENT, TEST_KEY

from connector import api, log
from connector.cli import main
from connector.errors import RejectCeilingError
from connector.standin import StandIn


@pytest.fixture(autouse=True)
def _plain_logging() -> Iterator[None]:
    """Let caplog see records even after a CLI run configured logging."""
    log.reset()
    yield
    log.reset()


@pytest.fixture
def shop(tmp_path: Path, api_env: dict[str, str]) -> Shop:
    write_mapping(tmp_path)
    shop = Shop(tmp_path)
    with shop.session():
        for number in range(6):
            shop.add_order(f"o{number}", minutes(number))
        shop.add_order("bad", minutes(2), items=())
    return shop


def _reject_lines(folder: Path) -> list[dict[str, Any]]:
    text = (folder / "rejects.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_reject_retried_until_fixed(shop: Shop, standin: StandIn) -> None:
    """A rejected order stays pending past the mark and is sent once fixed."""
    config = write_config(shop.folder, standin.url)
    first = api.sync(config)

    assert first.rejected == 1
    state = load_state(shop.folder)
    assert state.pending == {"bad"}
    assert state.mark == minutes(5)

    second = api.sync(config)
    assert second.rejected == 0
    assert second.still_rejected == 1
    assert [line["repeated"] for line in _reject_lines(shop.folder)] == [True]

    # Fixed with an old item cursor and no new order cursor: only the
    # retry of pending rejects can find it.
    shop.add_item("bad", Item("sku-1"), DAY)
    third = api.sync(config)

    assert third.orders_sent == 1
    assert third.still_rejected == 0
    assert "bad" in standin.orders()
    assert load_state(shop.folder).pending == set()
    assert stale_orders(shop, standin.orders()) == []


def test_repeated_reject_not_toward_ceiling(shop: Shop, standin: StandIn) -> None:
    """Orders rejected again count as still_rejected, never against the ceiling."""
    api.sync(write_config(shop.folder, standin.url))

    strict = write_config(shop.folder, standin.url, max_reject_ratio=0)
    summary = api.sync(strict)

    assert summary.still_rejected == 1
    assert summary.rejected == 0


def test_reject_ceiling_checkpoints_accepted(shop: Shop, standin: StandIn) -> None:
    """Above max_reject_ratio the run fails, but accepted orders are kept."""
    with shop.session():
        for number in range(3):
            shop.add_order(f"bad-{number}", minutes(10 + number), items=())
    config = write_config(shop.folder, standin.url, max_reject_ratio=0.2)

    with pytest.raises(RejectCeilingError) as raised:
        api.sync(config)

    assert raised.value.rejected == 4
    assert raised.value.seen == 10
    assert standin.order_count() == 6
    state = load_state(shop.folder)
    assert state.pending == {"bad", "bad-0", "bad-1", "bad-2"}
    assert state.mark == minutes(12)

    relaxed = write_config(shop.folder, standin.url)
    again = api.sync(relaxed)
    assert again.orders_sent == 0
    assert again.still_rejected == 4


def test_reject_ceiling_exit_code(shop: Shop, standin: StandIn) -> None:
    config = write_config(shop.folder, standin.url, max_reject_ratio=0.1)

    result = CliRunner().invoke(main, ["run", "-c", str(config)])

    assert result.exit_code == 3, result.output
    assert "sync.max_reject_ratio" in result.output
    assert standin.order_count() == 6


def test_api_reject_reported_rest_stored(
    shop: Shop, standin: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """An order the API alone rejects is reported; the rest of its batch is stored."""
    standin.reject_order_ids = {"o3"}
    config = write_config(shop.folder, standin.url, batch_size=10)

    with caplog.at_level(logging.WARNING, logger="connector"):
        summary = api.sync(config)

    assert summary.orders_sent == 5
    assert summary.rejected == 2
    assert set(standin.orders()) == {"o0", "o1", "o2", "o4", "o5"}
    api_rejects = [r for r in _reject_lines(shop.folder) if r["stage"] == "api"]
    assert len(api_rejects) == 1
    assert api_rejects[0]["order_key"] == "o3"
    assert api_rejects[0]["reason"] == "was rejected by a server-side rule"
    assert api_rejects[0]["field_path"] == "$"
    assert load_state(shop.folder).pending == {"bad", "o3"}
    assert summary.extra["server_rules"] == [
        {"json_path": "$", "message": "was rejected by a server-side rule", "orders": 1}
    ]
    assert "local validation missed a server rule" in caplog.text


def test_generic_400_bisects_to_bad_order(shop: Shop, api_env: dict[str, str]) -> None:
    """A 400 naming no order is narrowed down by halving to the one bad order."""
    with StandIn(
        api_key=TEST_KEY,
        client_id=TEST_CLIENT,
        generic_400=True,
        reject_order_ids={"o4"},
    ) as standin:
        config = write_config(shop.folder, standin.url, batch_size=10)

        summary = api.sync(config)

        assert set(standin.orders()) == {"o0", "o1", "o2", "o3", "o5"}
        api_rejects = [r for r in _reject_lines(shop.folder) if r["stage"] == "api"]
        assert [r["order_key"] for r in api_rejects] == ["o4"]
        assert "HTTP 400" in api_rejects[0]["reason"]
        assert summary.extra["server_rules"][0]["orders"] == 1
        assert load_state(shop.folder).pending == {"bad", "o4"}


def test_api_reject_accepted_after_rule_lifted(shop: Shop, standin: StandIn) -> None:
    standin.reject_order_ids = {"o3"}
    config = write_config(shop.folder, standin.url)
    api.sync(config)
    second = api.sync(config)
    assert second.still_rejected == 2

    standin.reject_order_ids = set()
    third = api.sync(config)

    assert third.orders_sent == 1
    assert "o3" in standin.orders()
    assert load_state(shop.folder).pending == {"bad"}


def test_mapping_change_sends_changed_payloads(shop: Shop, standin: StandIn) -> None:
    """After a mapping change every order is compared; only changed ones are sent."""
    shop.update_order("o1", minutes(1), status="vip")
    config = write_config(shop.folder, standin.url)
    api.sync(config)

    write_mapping(
        shop.folder,
        fields_extra=(
            "  order_tags: {sql: \"case when status = 'vip' then 'vip' end\"}\n"
        ),
    )
    summary = api.sync(config)

    assert summary.mode == "mapping or target changed"
    assert summary.orders_sent == 1
    assert summary.unchanged == 5
    assert summary.still_rejected == 1
    assert standin.orders()["o1"]["order_tags"] == ["vip"]
    assert api.sync(config).mode == "incremental"


def test_new_target_gets_every_order(shop: Shop, standin: StandIn) -> None:
    """Pointing the sync at another API host resends every order there."""
    config = write_config(shop.folder, standin.url)
    api.sync(config)

    with StandIn(api_key=TEST_KEY, client_id=TEST_CLIENT) as production:
        config = write_config(shop.folder, production.url)
        summary = api.sync(config)

        assert summary.mode == "mapping or target changed"
        assert summary.orders_sent == 6
        assert production.order_count() == 6

"""``northbeam-sync demo``: the whole flow offline, twice.

Generates a demo shop in DuckDB, starts the project's Northbeam stand-in on
127.0.0.1, syncs every order, edits a few orders, and syncs again to show
that only the changed ones are sent. It needs no network and no credentials.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from connector import api
from connector.config import load_settings
from connector.demo.shop import change_some_orders, generate_shop
from connector.standin import StandIn

DEMO_KEY = "demo-api-key"
DEMO_CLIENT = "demo-client-id"

_CONFIG = """\
# Config of the northbeam-sync demo. To run it again by hand, start the
# stand-in (python -m connector.standin --port 8700 --api-key demo-api-key
# --client-id demo-client-id) and run: northbeam-sync run -c {config}
warehouse:
  url: duckdb:///{database}
mapping: mapping.yaml
northbeam:
  base_url: ${{NORTHBEAM_BASE_URL:-http://127.0.0.1:8700}}
  api_version: v2
  api_key: ${{NORTHBEAM_API_KEY:-{key}}}
  client_id: ${{NORTHBEAM_CLIENT_ID:-{client}}}
  batch_size: 500
state:
  path: state.db
sync:
  name: demo
  reject_file: rejects.jsonl
"""


def _prepare_folder(workdir: Path) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("state.db", "state.db-wal", "state.db-shm", "rejects.jsonl"):
        (workdir / name).unlink(missing_ok=True)
    mapping = resources.files("connector.demo").joinpath("mapping.yaml")
    with resources.as_file(mapping) as source:
        shutil.copyfile(source, workdir / "mapping.yaml")
    config = workdir / "config.yaml"
    config.write_text(
        _CONFIG.format(
            config=config,
            database=(workdir / "shop.duckdb").resolve(),
            key=DEMO_KEY,
            client=DEMO_CLIENT,
        ),
        encoding="utf-8",
    )
    return config


def run_demo(
    workdir: Path, *, orders: int = 2000, echo: Callable[[str], None] = print
) -> None:
    """Run the demo in ``workdir``, printing what happens through ``echo``."""
    config_path = _prepare_folder(workdir)
    echo(
        f"1. generating a demo shop with {orders:,} orders in {workdir / 'shop.duckdb'}"
    )
    generate_shop(workdir / "shop.duckdb", orders=orders)

    with StandIn(api_key=DEMO_KEY, client_id=DEMO_CLIENT) as standin:
        echo(f"2. Northbeam stand-in listening on {standin.url}")
        environ = {"NORTHBEAM_BASE_URL": standin.url}
        settings = load_settings(config_path, environ=environ)

        echo("3. first run: every order is new")
        _echo_summary(echo, api.sync(settings))

        changed = change_some_orders(workdir / "shop.duckdb")
        echo(
            f"4. editing the shop: {changed['orders_edited']} orders edited, "
            f"refunds added to {changed['refunds_added']} orders"
        )
        echo("5. second run: only the changed orders are sent")
        _echo_summary(echo, api.sync(settings))

        stored = standin.orders("v2")
        echo(f"6. the stand-in stores {len(stored):,} orders; one of them:")
        sample = next(iter(stored.values()))
        echo(json.dumps(_masked(sample), indent=2, ensure_ascii=False))

    echo(f"state, reject report and config are in {workdir}/")


def _echo_summary(echo: Callable[[str], None], summary: api.RunSummary) -> None:
    for line in summary.lines():
        echo(line)


def _masked(order: dict[str, object]) -> dict[str, object]:
    shown = dict(order)
    address = shown.get("customer_shipping_address")
    if isinstance(address, dict):
        shown["customer_shipping_address"] = {
            k: ("<masked>" if k in ("address1", "city", "zip") else v)
            for k, v in address.items()
        }
    return shown

"""No personal value or secret leaks into logs, output, state, reports or errors.

Every personal column of a small shop contains a unique marker value. Syncs run
at DEBUG through the CLI (in process and as a subprocess) and through
``api.sync`` with every logger captured: a run with rejects, a 429 and a
500; failing runs (HTTP 401, retries exhausted, a mapping error, a warehouse
error that quotes a value); a dry run; ``check``, ``preview`` and ``state``.
Then everything those runs produced is searched for the markers, the API
key and the client id.

Markers may appear only where the mapping asks for them to be sent raw: the
order stored by the stand-in and the dry-run payload file hold the customer
name, IP address and shipping address. Emails and phone numbers are hashed,
so they appear nowhere unless ``send_raw_email`` is set.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import socket
import subprocess
import sys
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner, Result

from connector import api
from connector.cli import main
from connector.config import SnowflakeSettings, WarehouseSettings, load_settings
from connector.errors import ConnectorError
from connector.pipeline import RunOptions
from connector.records import Identity
from connector.sink import OrderSink
from connector.sink.client import OrdersClient
from connector.source import Warehouse
from connector.standin import Faults, StandIn

API_KEY = "leakkey-7Hq2Zp9W-secret"
CLIENT_ID = "leakclient-4Rt8Yx1B-secret"
WRONG_KEY = "wrongkey-3Jm6Vn0C-secret"
DB_PASSWORD = "leakdbpass-8Kd3Lq"
SECRETS = (API_KEY, CLIENT_ID, WRONG_KEY, DB_PASSWORD)

ORDERS = 12
START = datetime(2026, 3, 2, 9, 30)
#: Order 3 has text in the IP column, order 4 an email as customer id, and
#: order 5 a NULL total. The stand-in rejects order 6 with a server-side rule.
BAD_IP, EMAIL_AS_CUSTOMER, NULL_TOTAL, API_REJECT = 3, 4, 5, 6

# Raw forms and normalised forms of the phone markers (+1 415 555 01nn).
EMAIL_PHONE = re.compile(
    r"leakmarker-(email|custid)|415 555 01\d\d|41555501\d\d", re.IGNORECASE
)
NAME_ADDRESS_IP = re.compile(r"leakmarker|198\.51\.100\.", re.IGNORECASE)
ANY_MARKER = re.compile(f"{EMAIL_PHONE.pattern}|{NAME_ADDRESS_IP.pattern}", re.I)

MAPPING = """\
version: 1
orders:
  table: orders
  key: order_id
  cursor: updated_at
fields:
  order_id: order_id
  customer_id: {column: customer_id}
  time_of_purchase: {column: created_at}
  currency: {value: USD}
  purchase_total: {column: total_cents, unit: cents}
  tax: {column: tax_cents, unit: cents}
  customer_name: {column: name}
  customer_ip_address: {column: ip}
identity:
  email: {column: email}
  phone: {column: phone}
  default_region: US
  send_raw_email: RAW_EMAIL
shipping_address:
  address1: {column: address1}
  address2: {column: address2}
  city: {column: city}
  zip: {column: zip}
  country_code: {column: country}
products:
  table: order_lines
  key: order_id
  fields:
    id: {column: sku}
    name: {column: title}
    quantity: {column: quantity}
    price: {column: price_cents, unit: cents}
"""

CONFIG = """\
warehouse:
  url: duckdb:///{database}
mapping: {mapping}
northbeam:
  base_url: {url}
  api_key: ${{LEAK_API_KEY}}
  client_id: ${{LEAK_CLIENT_ID}}
  batch_size: 4
  max_in_flight: 1
  max_attempts: 3
  max_backoff_seconds: 0.01
  pacing:
    window_seconds: 0.01
state:
  path: state.db
sync:
  reject_file: rejects.jsonl
  max_reject_ratio: 1.0
"""


def _order_row(n: int) -> tuple[Any, ...]:
    created = START + timedelta(minutes=n)
    return (
        f"L-{1000 + n}",
        f"leakmarker-custid-{n}@example.com" if n == EMAIL_AS_CUSTOMER else f"C-{n}",
        created,
        created,
        None if n == NULL_TOTAL else 2500 + n,
        200,
        f"  LeakMarker-Email-{n}@Example.com ",
        f"+1 415 555 01{n:02d}",
        f"Leakmarker Name {n}",
        f"leakmarker-ip-{n}" if n == BAD_IP else f"198.51.100.{n}",
        f"{n} Leakmarker Street",
        f"Leakmarker Apartment {n}",
        f"Leakmarker City {n}",
        f"leakmarker-zip-{n}",
        "US",
    )


def build_shop(database: Path) -> None:
    """Write the marker shop: orders with every personal column, and lines."""
    con = duckdb.connect(str(database))
    try:
        con.execute(
            "CREATE TABLE orders (order_id VARCHAR, customer_id VARCHAR, "
            "created_at TIMESTAMP, updated_at TIMESTAMP, total_cents BIGINT, "
            "tax_cents BIGINT, email VARCHAR, phone VARCHAR, name VARCHAR, "
            "ip VARCHAR, address1 VARCHAR, address2 VARCHAR, city VARCHAR, "
            "zip VARCHAR, country VARCHAR)"
        )
        con.executemany(
            "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [_order_row(n) for n in range(1, ORDERS + 1)],
        )
        con.execute(
            "CREATE TABLE order_lines (order_id VARCHAR, sku VARCHAR, "
            "title VARCHAR, quantity INTEGER, price_cents BIGINT)"
        )
        con.executemany(
            "INSERT INTO order_lines VALUES (?, 'SKU-1', 'Plain mug', 1, 2300)",
            [(f"L-{1000 + n}",) for n in range(1, ORDERS + 1)],
        )
    finally:
        con.close()


@dataclass
class Shop:
    """A marker shop with its config, and what the runs produced."""

    folder: Path
    config: Path
    found: list[tuple[str, str]] = field(default_factory=list)

    def keep(self, label: str, text: str | bytes | None) -> None:
        """Keep one produced text for the final search."""
        if text is None:
            return
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        self.found.append((label, text))

    def keep_result(self, label: str, result: Result) -> None:
        self.keep(f"{label} stdout", result.stdout)
        self.keep(f"{label} stderr", result.stderr)
        if result.exc_info is not None and not isinstance(result.exception, SystemExit):
            self.keep(f"{label} traceback", "".join(_format(result.exc_info[1])))

    def keep_files(self) -> None:
        """Keep the bytes of every state, report and config file in the folder."""
        for path in sorted(self.folder.iterdir()):
            if path.suffix in (".duckdb", ".yaml") or path.name.startswith("dry"):
                continue
            if path.is_file():
                self.keep(f"file {path.name}", path.read_bytes())


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAK_API_KEY", API_KEY)
    monkeypatch.setenv("LEAK_CLIENT_ID", CLIENT_ID)


def make_shop(folder: Path, url: str, *, raw_email: bool = False) -> Shop:
    build_shop(folder / "shop.duckdb")
    mapping = folder / "mapping.yaml"
    mapping.write_text(
        MAPPING.replace("RAW_EMAIL", "true" if raw_email else "false"),
        encoding="utf-8",
    )
    config = folder / "config.yaml"
    config.write_text(
        CONFIG.format(database=folder / "shop.duckdb", mapping=mapping, url=url),
        encoding="utf-8",
    )
    return Shop(folder, config)


def _format(exc: BaseException | None) -> list[str]:
    if exc is None:
        return []
    return traceback.format_exception(exc)


def _record_texts(records: list[logging.LogRecord]) -> list[tuple[str, str]]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    texts = []
    for record in records:
        texts.append((f"log {record.name}", formatter.format(record)))
        if record.exc_info and record.exc_info[1] is not None:
            texts.append(
                (f"log {record.name} exc", "".join(_format(record.exc_info[1])))
            )
    return texts


def assert_clean(found: list[tuple[str, str]], pattern: re.Pattern[str]) -> None:
    """Fail naming each place where a secret or a ``pattern`` match appears."""
    leaks = []
    for label, text in found:
        for secret in SECRETS:
            if secret in text:
                leaks.append(f"{label}: secret {secret[:8]}...")
        for match in pattern.finditer(text):
            start = max(match.start() - 60, 0)
            leaks.append(f"{label}: {text[start : match.end() + 20]!r}")
    assert not leaks, "leaks found:\n" + "\n".join(leaks[:40])


def cli(shop: Shop, label: str, *args: str, code: int = 0) -> Result:
    """Invoke the CLI in process at DEBUG and keep everything it printed."""
    result = CliRunner().invoke(main, ["--verbose", *args, "-c", str(shop.config)])
    shop.keep_result(label, result)
    assert result.exit_code == code, result.output
    return result


# -- the runs -------------------------------------------------------------


def test_cli_runs_leak_nothing(
    tmp_path: Path, credentials: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Runs, rejects, retries, dry run, check, preview, state: no marker."""
    caplog.set_level(logging.DEBUG)
    with StandIn(
        api_key=API_KEY,
        client_id=CLIENT_ID,
        faults=Faults(script=[429, 500]),
        reject_order_ids={f"L-{1000 + API_REJECT}"},
    ) as standin:
        shop = make_shop(tmp_path, standin.url)
        first = cli(shop, "run", "run")
        cli(shop, "run again", "run")
        cli(shop, "run json", "--log-format", "json", "run", "--json")
        cli(
            shop,
            "dry run",
            "run",
            "--full-refresh",
            "--dry-run",
            str(tmp_path / "dry.jsonl"),
        )
        cli(shop, "check", "check")
        cli(shop, "preview", "preview", "-n", "20")
        cli(shop, "state show", "state", "show")
        stored = standin.orders("v1")
        requests = standin.requests

    shop.keep_files()
    shop.found.extend(_record_texts(caplog.records))

    assert "order rejected" in first.stderr
    assert "httpx: HTTP Request: POST" in first.stderr
    assert "httpcore" in first.stderr
    assert sum(1 for r in requests if r.status in (429, 500)) == 2
    assert len(stored) == ORDERS - 4
    assert_clean(shop.found, ANY_MARKER)
    _assert_sent_as_asked(stored.values(), (tmp_path / "dry.jsonl").read_text())


def _assert_sent_as_asked(stored: Any, dry_run: str) -> None:
    """Names, IPs and addresses are sent raw; emails and phones only hashed."""
    dry_orders = [json.loads(line) for line in dry_run.splitlines()]
    for orders in (list(stored), dry_orders):
        assert orders
        for order in orders:
            number = int(order["order_id"][2:]) - 1000
            assert order["customer_name"] == f"Leakmarker Name {number}"
            assert order["customer_ip_address"] == f"198.51.100.{number}"
            address = order["customer_shipping_address"]
            assert address["city"] == f"Leakmarker City {number}"
            email = f"leakmarker-email-{number}@example.com"
            expected = hashlib.sha256(email.encode()).hexdigest()
            assert order["hashed_customer_email"] == expected
            assert "hashed_customer_phone_number" in order
            assert not EMAIL_PHONE.search(json.dumps(order))
    assert_clean([("dry-run file", dry_run)], EMAIL_PHONE)


def test_cli_failures_leak_nothing(
    tmp_path: Path, credentials: None, caplog: pytest.LogCaptureFixture
) -> None:
    """401, exhausted retries, a mapping error, a SQL error: no marker, no key."""
    caplog.set_level(logging.DEBUG)
    with StandIn(api_key=API_KEY, client_id=CLIENT_ID) as standin:
        shop = make_shop(tmp_path, standin.url)

        os.environ["LEAK_API_KEY"] = WRONG_KEY
        unauthorized = cli(shop, "401", "run", code=1)
        cli(shop, "check 401", "check", code=1)
        os.environ["LEAK_API_KEY"] = API_KEY

        standin.faults = Faults(script=[500, 500, 500])
        exhausted = cli(shop, "exhausted", "run", code=1)
        standin.faults = Faults()

        mapping = tmp_path / "mapping.yaml"
        original = mapping.read_text()
        mapping.write_text(original.replace("{column: ip}", "{column: ip_addr}"))
        cli(shop, "mapping error", "run", code=2)
        cli(shop, "check mapping error", "check", code=2)

        # A cast of a personal column fails in the warehouse, whose error
        # message quotes the value.
        mapping.write_text(
            original.replace(
                "customer_ip_address: {column: ip}",
                "customer_ip_address: {column: ip}\n"
                '  order_tags: {sql: "cast(name as integer)"}',
            )
        )
        sql_error = cli(shop, "sql error", "run", code=1)

    shop.keep_files()
    shop.found.extend(_record_texts(caplog.records))

    assert "HTTP 401" in unauthorized.stderr
    assert "Traceback" in unauthorized.stderr
    assert "failed 3 times" in exhausted.stderr
    assert "query on orders failed" in sql_error.stderr
    assert_clean(shop.found, ANY_MARKER)


def test_cli_warehouse_password_not_shown(tmp_path: Path, credentials: None) -> None:
    """A refused PostgreSQL login URL with a password: never printed."""
    shop = make_shop(tmp_path, "http://127.0.0.1:9")
    text = shop.config.read_text()
    url = f"postgresql+psycopg://reader:{DB_PASSWORD}@127.0.0.1:{_closed_port()}/shop"
    shop.config.write_text(text.replace(text.splitlines()[1], f"  url: {url}"))

    result = cli(shop, "refused", "run", code=1)
    cli(shop, "check refused", "check", code=1)

    assert "cannot connect to the postgresql warehouse" in result.stderr
    assert_clean(shop.found, ANY_MARKER)


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_cli_error_line_without_verbose(tmp_path: Path, credentials: None) -> None:
    """Without --verbose a failure prints one line, with no key and no marker."""
    with StandIn(api_key="another-key-123", client_id=CLIENT_ID) as standin:
        shop = make_shop(tmp_path, standin.url)
        result = CliRunner().invoke(main, ["run", "-c", str(shop.config)])

    shop.keep_result("quiet 401", result)
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert result.exit_code == 1
    assert len(errors) == 1
    assert "Traceback" not in result.stderr
    assert_clean(shop.found, ANY_MARKER)


def test_api_sync_records_leak_nothing(
    tmp_path: Path, credentials: None, caplog: pytest.LogCaptureFixture
) -> None:
    """api.sync at DEBUG, every logger captured, errors and tracebacks kept."""
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    with StandIn(
        api_key=API_KEY,
        client_id=CLIENT_ID,
        faults=Faults(script=[429, 500]),
        reject_order_ids={f"L-{1000 + API_REJECT}"},
    ) as standin:
        shop = make_shop(tmp_path, standin.url)
        summary = api.sync(shop.config)
        shop.keep("summary", json.dumps(summary.to_dict(), default=str))
        shop.keep("summary lines", "\n".join(summary.lines()))
        shop.keep("preview", json.dumps(api.preview(shop.config, 20), default=str))
        dry_run = RunOptions(
            full_refresh=True, dry_run_path=str(tmp_path / "dry.jsonl")
        )
        dry_summary = api.sync(shop.config, dry_run)
        shop.keep("check", "\n".join(api.check(shop.config)))

        os.environ["LEAK_API_KEY"] = WRONG_KEY
        _keep_failure(shop, "401", lambda: api.sync(shop.config))
        _keep_failure(shop, "check 401", lambda: api.check(shop.config))
        os.environ["LEAK_API_KEY"] = API_KEY
        standin.faults = Faults(script=[500, 500, 500])
        api.state_reset(shop.config)
        _keep_failure(shop, "exhausted", lambda: api.sync(shop.config))

    shop.keep_files()
    shop.found.extend(_record_texts(caplog.records))

    assert summary.rejected == 4
    assert dry_summary.orders_sent == ORDERS - 3
    dry_text = (tmp_path / "dry.jsonl").read_text()
    assert "Leakmarker Name 1" in dry_text
    assert_clean([("dry-run file", dry_text)], EMAIL_PHONE)
    assert any(record.name.startswith("httpcore") for record in caplog.records)
    assert_clean(shop.found, ANY_MARKER)


def _keep_failure(shop: Shop, label: str, call: Any) -> None:
    with pytest.raises(ConnectorError) as caught:
        call()
    shop.keep(f"{label} message", str(caught.value))
    shop.keep(f"{label} repr", repr(caught.value))
    shop.keep(f"{label} traceback", "".join(_format(caught.value)))


def test_subprocess_verbose_leaks_nothing(tmp_path: Path) -> None:
    """``python -m connector --verbose`` output, a success and a 401."""
    with StandIn(api_key=API_KEY, client_id=CLIENT_ID) as standin:
        shop = make_shop(tmp_path, standin.url)
        env = {**os.environ, "LEAK_API_KEY": API_KEY, "LEAK_CLIENT_ID": CLIENT_ID}
        command = [sys.executable, "-m", "connector", "--verbose", "run", "-c"]
        ok = subprocess.run(
            [*command, str(shop.config)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        env["LEAK_API_KEY"] = WRONG_KEY
        failed = subprocess.run(
            [*command, str(shop.config), "--full-refresh"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    for label, done in (("ok", ok), ("401", failed)):
        shop.keep(f"subprocess {label} stdout", done.stdout)
        shop.keep(f"subprocess {label} stderr", done.stderr)
    shop.keep_files()

    assert ok.returncode == 0, ok.stderr[-2000:]
    assert failed.returncode == 1
    assert "DEBUG" in ok.stderr
    assert "Traceback" in failed.stderr
    assert_clean(shop.found, ANY_MARKER)


def test_raw_email_only_in_payload(
    tmp_path: Path, credentials: None, caplog: pytest.LogCaptureFixture
) -> None:
    """send_raw_email puts the email in the payload, and nowhere else."""
    caplog.set_level(logging.DEBUG)
    with StandIn(api_key=API_KEY, client_id=CLIENT_ID) as standin:
        shop = make_shop(tmp_path, standin.url, raw_email=True)
        first = cli(shop, "run", "run")
        cli(
            shop,
            "dry run",
            "run",
            "--full-refresh",
            "--dry-run",
            str(tmp_path / "dry.jsonl"),
        )
        cli(shop, "preview", "preview", "-n", "20")
        stored = standin.orders("v1")

    shop.keep_files()
    shop.found.extend(_record_texts(caplog.records))
    dry_run = (tmp_path / "dry.jsonl").read_text()

    order = stored["L-1001"]
    assert order["customer_email"] == "leakmarker-email-1@example.com"
    assert "hashed_customer_email" not in order
    assert "leakmarker-email-1@example.com" in dry_run
    assert "raw email" in first.stdout
    assert_clean(shop.found, ANY_MARKER)


# -- reprs ------------------------------------------------------------------


def test_reprs_hide_secrets(tmp_path: Path, credentials: None) -> None:
    """Settings, sink, client, warehouse and identity reprs show no secret."""
    shop = make_shop(tmp_path, "http://127.0.0.1:9")
    settings = load_settings(shop.config)
    secret_url = WarehouseSettings(url=f"postgresql://u:{DB_PASSWORD}@127.0.0.1:9/db")
    snowflake = SnowflakeSettings(
        account="acme", user="reader", password=DB_PASSWORD, schema="RAW"
    )
    identity = Identity(email="leakmarker-email-1@example.com", phone="+1 415 555 0101")
    sink = OrderSink(settings.northbeam)
    client = OrdersClient(settings.northbeam)
    try:
        with Warehouse.connect(settings.warehouse, tmp_path) as warehouse:
            texts = [
                repr(settings),
                str(settings),
                repr(settings.northbeam),
                repr(secret_url),
                repr(snowflake),
                settings.model_dump_json(),
                repr(sink),
                repr(client),
                repr(warehouse),
                repr(identity),
                str(identity),
            ]
    finally:
        sink.close()
        client.close()

    assert_clean([("repr", text) for text in texts], EMAIL_PHONE)


def test_api_exceptions_leak_nothing(
    tmp_path: Path, credentials: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Messages and tracebacks of errors raised to a Python caller."""
    caplog.set_level(logging.DEBUG)
    with StandIn(api_key=API_KEY, client_id=CLIENT_ID) as standin:
        shop = make_shop(tmp_path, standin.url)
        mapping = tmp_path / "mapping.yaml"
        original = mapping.read_text()
        mapping.write_text(original.replace("{column: ip}", "{column: ip_addr}"))
        _keep_failure(shop, "mapping error", lambda: api.sync(shop.config))
        _keep_failure(shop, "check error", lambda: api.check(shop.config))

    shop.found.extend(_record_texts(caplog.records))
    assert_clean(shop.found, ANY_MARKER)


def test_api_sql_error_hides_values(tmp_path: Path, credentials: None) -> None:
    """A Python caller's traceback of a warehouse error quotes no row value.

    The driver's own message quotes the value that failed to convert.
    """
    with StandIn(api_key=API_KEY, client_id=CLIENT_ID) as standin:
        shop = make_shop(tmp_path, standin.url)
        mapping = tmp_path / "mapping.yaml"
        mapping.write_text(
            mapping.read_text().replace(
                "customer_ip_address: {column: ip}",
                "customer_ip_address: {column: ip}\n"
                '  order_tags: {sql: "cast(name as integer)"}',
            )
        )
        _keep_failure(shop, "sql error", lambda: api.sync(shop.config))

    assert "query on orders failed" in shop.found[0][1]
    assert_clean(shop.found, ANY_MARKER)


def test_scan_reports_planted_values() -> None:
    """The search itself finds each kind of marker and secret."""
    planted = [
        "Leakmarker Name 3",
        "+14155550103",
        "(415) 555 0103".replace("(", "").replace(")", ""),
        "198.51.100.7",
        "leakmarker-email-1@example.com",
        API_KEY,
    ]
    for text in planted:
        with pytest.raises(AssertionError):
            assert_clean([("planted", f"before {text} after")], ANY_MARKER)

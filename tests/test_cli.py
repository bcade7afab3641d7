"""The command line: every command, exit codes 0 to 4, error output."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click
import duckdb
import pytest
from click.testing import CliRunner, Result
from testdata import TEST_CLIENT, TEST_KEY

from connector import api
from connector.cli import main, parse_cursor
from connector.config import load_settings
from connector.demo.shop import generate_shop
from connector.standin import StandIn
from connector.state import open_store

REPO = Path(__file__).resolve().parents[1]
ORDERS = 60
RED = "\x1b[31m"

CONFIG = """\
warehouse:
  url: duckdb:///shop.duckdb
mapping: mapping.yaml
northbeam:
  base_url: {url}
  api_version: v2
  api_key: ${{NORTHBEAM_API_KEY}}
  client_id: ${{NORTHBEAM_CLIENT_ID}}
  batch_size: 25
  max_attempts: 2
  max_backoff_seconds: 0.01
state:
  path: state.db
sync:
  reject_file: rejects.jsonl
"""


@pytest.fixture
def shop(tmp_path: Path, standin: StandIn, api_env: dict[str, str]) -> Path:
    """A demo shop of 60 orders and its config file, given as the config path."""
    generate_shop(tmp_path / "shop.duckdb", orders=ORDERS)
    mapping = REPO / "connector" / "demo" / "mapping.yaml"
    (tmp_path / "mapping.yaml").write_text(mapping.read_text(), encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(url=standin.url), encoding="utf-8")
    return config


def invoke(*args: str | Path, code: int = 0, **kwargs: Any) -> Result:
    """Run the CLI in process and check its exit code."""
    result = CliRunner().invoke(main, [str(arg) for arg in args], **kwargs)
    assert result.exit_code == code, result.output
    return result


def json_documents(text: str) -> list[Any]:
    """Parse indented JSON documents printed one after another."""
    decoder = json.JSONDecoder()
    found, position = [], 0
    text = text.strip()
    while position < len(text):
        document, end = decoder.raw_decode(text, position)
        found.append(document)
        position = end
        while position < len(text) and text[position].isspace():
            position += 1
    return found


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


# -- commands -----------------------------------------------------------------


def test_python_m_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "connector", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    for command in ("run", "check", "preview", "state", "demo"):
        assert command in done.stdout


def test_version_printed() -> None:
    result = invoke("--version")

    assert "0.1.0" in result.stdout


def test_demo_runs_offline(tmp_path: Path) -> None:
    result = invoke("demo", "--dir", tmp_path / "demo", "--orders", "200")

    assert "first run: every order is new" in result.stdout
    assert "second run: only the changed orders are sent" in result.stdout
    assert "the stand-in stores 200 orders" in result.stdout
    assert (tmp_path / "demo" / "state.db").is_file()
    assert (tmp_path / "demo" / "config.yaml").is_file()


def test_check_reports_api_host(shop: Path, standin: StandIn) -> None:
    result = invoke("check", "-c", shop)

    assert "config ok, mapping ok" in result.stdout
    assert "orders: 15 columns found" in result.stdout
    assert "credentials accepted by 127.0.0.1" in result.stdout
    assert [(r.method, r.status) for r in standin.requests] == [("GET", 200)]


def test_check_offline_sends_nothing(shop: Path, standin: StandIn) -> None:
    result = invoke("check", "--offline", "-c", shop)

    assert "credentials not checked (--offline)" in result.stdout
    assert standin.requests == []


def test_check_lists_every_missing_column(shop: Path) -> None:
    """Two misspelt columns: both reported at once, with their lines."""
    mapping = shop.parent / "mapping.yaml"
    text = mapping.read_text()
    text = text.replace("{column: tax_cents", "{column: tax_cent")
    text = text.replace("{column: title}", "{column: titel}")
    mapping.write_text(text)
    lines = text.splitlines()
    tax_line = next(i for i, line in enumerate(lines, 1) if "tax_cent," in line)
    title_line = next(i for i, line in enumerate(lines, 1) if "titel" in line)

    result = invoke("check", "--offline", "-c", shop, code=2)

    assert "2 problem(s) found" in result.stderr
    assert f"line {tax_line}: column tax_cent is not in orders" in result.stderr
    assert "Did you mean tax_cents" in result.stderr
    assert f"line {title_line}: column titel is not in products" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_adds_credentials_to_problems(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mapping = shop.parent / "mapping.yaml"
    mapping.write_text(mapping.read_text().replace("{column: sku}", "{column: skus}"))
    monkeypatch.setenv("NORTHBEAM_API_KEY", "wrong-key-123456")

    result = invoke("check", "-c", shop, code=2)

    assert "column skus is not in products" in result.stderr
    assert "column skus is not in refunds" in result.stderr
    assert "credentials: The orders API refused the credentials" in result.stderr


def test_check_wrong_key_fails(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORTHBEAM_API_KEY", "wrong-key-123456")

    result = invoke("check", "-c", shop, code=1)

    assert "HTTP 401" in result.stderr
    assert "wrong-key-123456" not in result.output


def test_preview_prints_masked_orders(shop: Path, standin: StandIn) -> None:
    result = invoke("preview", "-n", "2", "-c", shop)

    orders = json_documents(result.stdout)
    assert [order["order_id"] for order in orders] == ["D-100001", "D-100002"]
    for order in orders:
        assert order["customer_shipping_address"]["city"] == "<masked>"
        assert order["customer_shipping_address"]["country_code"] in (
            "USA",
            "GBR",
            "DEU",
        )
        assert "customer_email" not in order
    assert standin.requests == []


def test_run_sends_every_order(shop: Path, standin: StandIn) -> None:
    result = invoke("run", "-c", shop)

    assert f"rows read        {ORDERS:>10,}" in result.stdout
    assert f"orders sent      {ORDERS:>10,}" in result.stdout
    assert "high-water mark" in result.stdout
    assert standin.order_count("v2") == ORDERS


def test_run_json_summary(shop: Path) -> None:
    result = invoke("run", "--json", "-c", shop)

    summary = json.loads(result.stdout)
    assert summary["orders_sent"] == ORDERS
    assert summary["rejected"] == 0
    assert summary["mode"] == "initial"
    assert 0 < summary["hashed_email_share"] <= 1


def test_dry_run_writes_file_keeps_state(
    shop: Path, standin: StandIn, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"

    result = invoke("run", "--dry-run", out, "-c", shop)
    state_info = json.loads(invoke("state", "show", "-c", shop).stdout)

    lines = out.read_text().splitlines()
    assert len(lines) == ORDERS
    assert json.loads(lines[0])["order_id"] == "D-100001"
    assert "orders written" in result.stdout
    assert "(dry run)" in result.stdout
    assert standin.requests == []
    assert state_info["high_water_mark"] is None
    assert state_info["fingerprints"] == 0


def test_state_show_after_run(shop: Path) -> None:
    invoke("run", "-c", shop)

    state_info = json.loads(invoke("state", "show", "-c", shop).stdout)

    assert state_info["name"] == "orders"
    assert state_info["high_water_mark"]["type"] == "timestamp"
    assert state_info["fingerprints"] == ORDERS
    assert state_info["lock"] is None


def test_state_reset_resends_all(shop: Path, standin: StandIn) -> None:
    invoke("run", "-c", shop)

    reset = invoke("state", "reset", "--yes", "-c", shop)
    again = json.loads(invoke("run", "--json", "-c", shop).stdout)

    assert "state reset" in reset.stdout
    assert again["orders_sent"] == ORDERS
    assert standin.write_counts("v2")["D-100001"] == 2


def test_state_reset_asks_first(shop: Path) -> None:
    invoke("run", "-c", shop)

    declined = invoke("state", "reset", "-c", shop, input="n\n", code=1)
    state_info = json.loads(invoke("state", "show", "-c", shop).stdout)

    assert "Aborted" in declined.output
    assert state_info["fingerprints"] == ORDERS


def test_state_set_moves_high_water_mark(shop: Path, standin: StandIn) -> None:
    """Moving the mark back rereads orders from there, and sends none unchanged."""
    invoke("run", "-c", shop)
    con = duckdb.connect(str(shop.parent / "shop.duckdb"), read_only=True)
    (mark,) = con.execute(
        "SELECT updated_at FROM orders ORDER BY updated_at LIMIT 1 OFFSET 45"
    ).fetchone()
    (newer,) = con.execute(
        "SELECT count(*) FROM orders WHERE updated_at >= ?", [mark]
    ).fetchone()
    con.close()

    result = invoke("state", "set", "--cursor", mark.isoformat(), "-c", shop)
    state_info = json.loads(invoke("state", "show", "-c", shop).stdout)
    summary = json.loads(invoke("run", "--json", "-c", shop).stdout)

    assert f"high-water mark set to {mark.isoformat()}" in result.stdout
    assert state_info["high_water_mark"]["value"] == mark.isoformat()
    assert 0 < newer < ORDERS
    assert summary["mode"] == "incremental"
    # Orders whose line items changed last are read once more, because the
    # child marks are inclusive. rows_read counts those reads too.
    assert newer <= summary["rows_read"] < ORDERS
    assert summary["unchanged"] == newer
    assert summary["orders_sent"] == 0


def test_state_set_rejects_other_cursor_kind(shop: Path) -> None:
    """A mark of another kind than the cursor column is refused up front."""
    date_result = invoke("state", "set", "--cursor", "2024-03-01", "-c", shop, code=2)
    number_result = invoke("state", "set", "--cursor", "20240301", "-c", shop, code=2)

    assert "is a date" in date_result.stderr
    assert "timestamp without offset" in date_result.stderr
    assert "is a number" in number_result.stderr


def test_state_set_rejects_bad_cursor(shop: Path) -> None:
    result = invoke("state", "set", "--cursor", "yesterday", "-c", shop, code=2)

    assert "is not an integer, a date" in result.stderr


# -- exit codes ---------------------------------------------------------------


def test_exit_1_on_refused_credentials(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NORTHBEAM_API_KEY", "wrong-key-123456")

    result = invoke("run", "-c", shop, code=1)

    assert "HTTP 401" in result.stderr


def test_exit_2_on_invalid_config(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NORTHBEAM_API_KEY")

    result = invoke("run", "-c", shop, code=2)

    assert "environment variable NORTHBEAM_API_KEY is not set" in result.stderr


def test_exit_2_on_invalid_mapping(shop: Path) -> None:
    mapping = shop.parent / "mapping.yaml"
    mapping.write_text(mapping.read_text().replace("purchase_total:", "purchase_totl:"))

    result = invoke("run", "-c", shop, code=2)

    assert "purchase_totl" in result.stderr


def test_exit_2_on_bad_usage(shop: Path) -> None:
    unknown = invoke("run", "--fast", "-c", shop, code=2)
    missing = invoke("check", "-c", shop.parent / "absent.yaml", code=2)

    assert "No such option" in unknown.stderr
    assert "--fast" in unknown.stderr
    assert "cannot read config file" in missing.stderr


def test_exit_3_over_reject_ceiling(shop: Path, standin: StandIn) -> None:
    con = duckdb.connect(str(shop.parent / "shop.duckdb"))
    con.execute("UPDATE orders SET currency = 'XXX' WHERE order_id <= 'D-100010'")
    con.close()

    result = invoke("run", "-c", shop, code=3)

    assert "10 of 60 orders (16.7%) were rejected" in result.stderr
    assert "sync.max_reject_ratio" in result.stderr
    assert standin.order_count("v2") == ORDERS - 10


def test_exit_4_while_locked(shop: Path) -> None:
    settings = load_settings(shop)
    store = open_store(settings, None)
    try:
        with store.lock("orders", owner="other-run", timeout_seconds=900):
            result = invoke("run", "-c", shop, code=4)
    finally:
        store.close()

    assert "other-run" in result.stderr


def test_state_edits_wait_for_running_sync(shop: Path) -> None:
    """state set and reset refuse while a run holds the lock."""
    settings = load_settings(shop)
    store = open_store(settings, None)
    try:
        with store.lock("orders", owner="other-run", timeout_seconds=900):
            set_result = invoke(
                "state", "set", "-c", shop, "--cursor", "2026-01-05T09:00:00", code=4
            )
            reset_result = invoke("state", "reset", "-c", shop, "--yes", code=4)
    finally:
        store.close()

    assert "other-run" in set_result.stderr
    assert "other-run" in reset_result.stderr


# -- error output ---------------------------------------------------------------


def test_error_is_one_red_line(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORTHBEAM_API_KEY", "wrong-key-123456")

    result = invoke("run", "-c", shop, code=1, color=True)

    lines = error_lines(result)
    assert len(lines) == 1
    assert lines[0].startswith(f"{RED}error: ")
    assert "Traceback" not in result.output


def test_verbose_adds_traceback(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORTHBEAM_API_KEY", "wrong-key-123456")

    result = invoke("--verbose", "run", "-c", shop, code=1)

    assert "Traceback (most recent call last)" in result.stderr
    assert "connector.errors.FatalSinkError" in result.stderr
    assert "DEBUG" in result.stderr
    assert error_lines(result)[-1].startswith("error: ")


def test_unexpected_error_hides_message(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug ends in one line naming the type, never the exception's text."""

    email = "jane" + "@example.com"

    def broken(*_args: Any, **_kwargs: Any) -> None:
        # The message is built apart from the raise line, which tracebacks quote.
        message = f"row value {email}"
        raise RuntimeError(message)

    monkeypatch.setattr(api, "sync", broken)

    quiet = invoke("run", "-c", shop, code=1)
    verbose = invoke("--verbose", "run", "-c", shop, code=1)

    assert error_lines(quiet) == [
        "error: unexpected RuntimeError; this is a bug in northbeam-sync. Run "
        "again with --verbose for the traceback and report it."
    ]
    assert "RuntimeError: <message hidden" in verbose.stderr
    assert email not in quiet.output + verbose.output


def test_json_log_format(shop: Path) -> None:
    result = invoke("--log-format", "json", "run", "-c", shop)

    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert records
    assert {"time", "level", "logger", "message"} <= set(records[-1])
    assert any(r["message"].startswith("run finished:") for r in records)


def test_keys_not_printed(shop: Path) -> None:
    outputs = [
        invoke("--verbose", "run", "-c", shop).output,
        invoke("--verbose", "check", "-c", shop).output,
        invoke("--verbose", "state", "show", "-c", shop).output,
    ]

    for output in outputs:
        assert TEST_KEY not in output
        assert TEST_CLIENT not in output


# -- cursor values ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        ("-3", -3),
        ("2024-01-31", date(2024, 1, 31)),
        ("2024-01-31T12:00:00", datetime(2024, 1, 31, 12)),
        ("2024-01-31T12:00:00+00:00", datetime(2024, 1, 31, 12, tzinfo=UTC)),
        (" 7 ", 7),
        (None, None),
    ],
)
def test_parse_cursor(text: str | None, expected: Any) -> None:
    assert parse_cursor(text) == expected


def test_parse_cursor_rejects_text() -> None:
    with pytest.raises(click.BadParameter) as caught:
        parse_cursor("last week")

    assert "'last week' is not an integer" in str(caught.value)


def test_json_log_format_error_record(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With JSON logs the error is a JSON record too, not a red text line."""
    monkeypatch.setenv("NORTHBEAM_API_KEY", "wrong-key-123456")

    result = invoke("--log-format", "json", "run", "-c", shop, code=1)

    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert records[-1]["level"] == "error"
    assert records[-1]["message"].startswith("command failed: The orders API")
    assert "exception" not in records[-1]

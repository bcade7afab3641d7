"""Command line: parse arguments, call the Python API, print, map exit codes.

Exit codes: 0 success; 1 the run failed (warehouse, API or state; state is
left at the last checkpoint); 2 bad usage or an invalid config or mapping;
3 more orders rejected than ``sync.max_reject_ratio`` allows; 4 another run
of the same sync holds the lock.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from connector import api, log
from connector.errors import ConnectorError
from connector.pipeline import RunOptions
from connector.summary import RunSummary

F = TypeVar("F", bound=Callable[..., Any])
_DEFAULT_CONFIG = "config.yaml"


def _config_option(func: F) -> F:
    return click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=_DEFAULT_CONFIG,
        envvar="NORTHBEAM_SYNC_CONFIG",
        show_default=True,
        help="Config file (YAML); also read from NORTHBEAM_SYNC_CONFIG.",
    )(func)


def parse_cursor(text: str | None) -> Any:
    """Read a cursor bound from the command line: integer, date or timestamp."""
    if text is None:
        return None
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an integer, a date (2024-01-31) or a timestamp "
            "(2024-01-31T12:00:00+00:00)"
        ) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log DEBUG detail and tracebacks.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json writes one JSON object per log line, for schedulers.",
)
@click.version_option(package_name="northbeam-sync")
@click.pass_context
def main(ctx: click.Context, verbose: bool, log_format: str) -> None:
    """Sync orders from a data warehouse to Northbeam's Orders API."""
    ctx.obj = {"verbose": verbose}
    log.configure(
        logging.DEBUG if verbose else logging.INFO, json_lines=log_format == "json"
    )


def _fail(ctx: click.Context, exc: ConnectorError) -> None:
    if ctx.find_root().obj.get("verbose"):
        logging.getLogger("connector").exception("command failed")
    click.secho(f"error: {log.redact(str(exc))}", fg="red", err=True)
    ctx.exit(exc.exit_code)


def _print_summary(summary: RunSummary) -> None:
    for line in summary.lines():
        click.echo(line)


class _Progress:
    """A one-line status on a terminal, refreshed at most twice a second."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self._last = 0.0

    def __call__(self, summary: RunSummary) -> None:
        now = time.monotonic()
        if not self.enabled or now - self._last < 0.5:
            return
        self._last = now
        click.echo(
            f"\r  read {summary.rows_read:,}  sent {summary.orders_sent:,}  "
            f"unchanged {summary.unchanged:,}  rejected {summary.rejected:,}",
            nl=False,
            err=True,
        )

    def close(self) -> None:
        if self.enabled and self._last:
            click.echo("", err=True)


@main.command()
@_config_option
@click.option("--full-refresh", is_flag=True, help="Resend every order.")
@click.option("--since", help="Backfill from this cursor value (inclusive).")
@click.option("--until", help="Backfill up to this cursor value (exclusive).")
@click.option(
    "--dry-run",
    "dry_run",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write payloads to this JSON Lines file; send nothing, keep state.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def run(
    ctx: click.Context,
    config_path: Path,
    full_refresh: bool,
    since: str | None,
    until: str | None,
    dry_run: Path | None,
    as_json: bool,
) -> None:
    """Sync the orders that changed since the last run."""
    progress = _Progress()
    options = RunOptions(
        full_refresh=full_refresh,
        since=parse_cursor(since),
        until=parse_cursor(until),
        dry_run_path=str(dry_run) if dry_run else None,
        progress=progress,
    )
    try:
        summary = api.sync(config_path, options)
    except ConnectorError as exc:
        progress.close()
        _fail(ctx, exc)
        return
    progress.close()
    if as_json:
        click.echo(json.dumps(summary.to_dict(), default=str, indent=2))
    else:
        _print_summary(summary)


@main.command()
@_config_option
@click.option(
    "--offline", is_flag=True, help="Skip the credentials check against the API."
)
@click.pass_context
def check(ctx: click.Context, config_path: Path, offline: bool) -> None:
    """Check config, mapping, warehouse columns and credentials; send nothing."""
    try:
        lines = api.check(config_path, verify_api=not offline)
    except ConnectorError as exc:
        _fail(ctx, exc)
        return
    for line in lines:
        click.echo(line)


@main.command()
@_config_option
@click.option("-n", "limit", default=5, show_default=True, help="Orders to show.")
@click.pass_context
def preview(ctx: click.Context, config_path: Path, limit: int) -> None:
    """Print the first mapped, hashed and validated orders; send nothing.

    Names and address lines are masked on the console.
    """
    try:
        items = api.preview(config_path, limit)
    except ConnectorError as exc:
        _fail(ctx, exc)
        return
    for item in items:
        click.echo(json.dumps(item, default=str, indent=2, ensure_ascii=False))


@main.group()
def state() -> None:
    """Show or change the stored high-water mark and reject list."""


@state.command("show")
@_config_option
@click.pass_context
def state_show(ctx: click.Context, config_path: Path) -> None:
    """Print the high-water mark, counts and lock holder as JSON."""
    try:
        info = api.state_show(config_path)
    except ConnectorError as exc:
        _fail(ctx, exc)
        return
    click.echo(json.dumps(info, default=str, indent=2))


@state.command("reset")
@_config_option
@click.confirmation_option(
    prompt="Forget all state of this sync (next run resends all)?"
)
@click.pass_context
def state_reset(ctx: click.Context, config_path: Path) -> None:
    """Forget the high-water mark, fingerprints and rejects of this sync."""
    try:
        api.state_reset(config_path)
    except ConnectorError as exc:
        _fail(ctx, exc)
        return
    click.echo("state reset; the next run reads every order")


@state.command("set")
@_config_option
@click.option(
    "--cursor", required=True, help="New high-water mark (integer, date or timestamp)."
)
@click.pass_context
def state_set(ctx: click.Context, config_path: Path, cursor: str) -> None:
    """Start the next incremental run from the given cursor value."""
    value = parse_cursor(cursor)
    try:
        api.state_set(config_path, value)
    except ConnectorError as exc:
        _fail(ctx, exc)
        return
    click.echo(f"high-water mark set to {value}")


@main.command()
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("northbeam-demo"),
    show_default=True,
    help="Folder for the demo shop, config, state and reports.",
)
@click.option(
    "--orders", default=2000, show_default=True, help="Orders in the demo shop."
)
@click.pass_context
def demo(ctx: click.Context, workdir: Path, orders: int) -> None:
    """Run the whole flow offline on a generated shop and a local stand-in."""
    from connector.demo.runner import run_demo

    try:
        run_demo(workdir, orders=orders, echo=click.echo)
    except ConnectorError as exc:
        _fail(ctx, exc)

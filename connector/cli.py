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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from connector import api, log
from connector.errors import ConnectorError
from connector.pipeline import RunOptions
from connector.prepare import serialise
from connector.state import describe_cursor
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
    ctx.obj = {"verbose": verbose, "json_logs": log_format == "json"}
    log.configure(
        logging.DEBUG if verbose else logging.INFO, json_lines=log_format == "json"
    )


@contextmanager
def _errors(ctx: click.Context) -> Iterator[None]:
    """Turn an error into a red message on stderr and the exit code.

    The message is one line for most errors, but a failed ``check`` lists
    each problem on its own line. ``--verbose`` logs the traceback first.
    With ``--log-format json`` the message is an ERROR log record instead.
    An error that is not a ConnectorError is a bug. Its message is not
    shown, because it may quote a warehouse value.
    """
    try:
        yield
    except ConnectorError as exc:
        _fail(ctx, exc, str(exc), exc.exit_code)
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except Exception as exc:
        message = (
            f"unexpected {type(exc).__name__}; this is a bug in northbeam-sync. "
            "Run again with --verbose for the traceback and report it."
        )
        _fail(ctx, exc, message, 1)


def _fail(ctx: click.Context, exc: Exception, message: str, code: int) -> NoReturn:
    options = ctx.find_root().obj
    logger = logging.getLogger("connector")
    traceback = exc if options.get("verbose") else None
    if options.get("json_logs"):
        # Every stderr line stays JSON, so the error is a log record too.
        logger.error("command failed: %s", message, exc_info=traceback)
    else:
        if traceback is not None:
            logger.error("command failed", exc_info=traceback)
        click.secho(f"error: {log.redact(message)}", fg="red", err=True)
    ctx.exit(code)


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
    help="Write payloads to this JSON Lines file; send nothing, move no state.",
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
        with _errors(ctx):
            summary = api.sync(config_path, options)
    finally:
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
    """Check config, mapping, warehouse columns and credentials; send nothing.

    The credentials are checked with a read of today's orders, and the
    report names the API host that was read. Every mapping problem is
    listed at once, with its line.
    """
    with _errors(ctx):
        lines = api.check(config_path, verify_api=not offline)
    for line in lines:
        click.echo(line)


@main.command()
@_config_option
@click.option(
    "-n", "limit", default=5, show_default=True, help="Number of orders to show."
)
@click.pass_context
def preview(ctx: click.Context, config_path: Path, limit: int) -> None:
    """Print the first mapped, hashed and validated orders; send nothing.

    Names, IP addresses, address lines and raw emails and phone numbers are
    masked on the console.
    """
    with _errors(ctx):
        items = api.preview(config_path, limit)
    for item in items:
        # Through the serialiser, so money prints as the number sent.
        shown = json.loads(serialise(item))
        click.echo(json.dumps(shown, indent=2, ensure_ascii=False))


@main.group()
def state() -> None:
    """Show or change the stored high-water mark and reject list."""


@state.command("show")
@_config_option
@click.pass_context
def state_show(ctx: click.Context, config_path: Path) -> None:
    """Print the high-water mark, counts and lock holder as JSON."""
    with _errors(ctx):
        info = api.state_show(config_path)
    click.echo(json.dumps(info, default=str, indent=2))


@state.command("reset")
@_config_option
@click.confirmation_option(
    prompt="Forget all state of this sync (next run resends all)?"
)
@click.pass_context
def state_reset(ctx: click.Context, config_path: Path) -> None:
    """Forget the high-water mark, fingerprints and rejects of this sync."""
    with _errors(ctx):
        api.state_reset(config_path)
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
    with _errors(ctx):
        api.state_set(config_path, value)
    click.echo(f"high-water mark set to {describe_cursor(value)}")


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

    with _errors(ctx):
        run_demo(workdir, orders=orders, echo=click.echo)

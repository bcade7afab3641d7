"""The Python API behind the CLI, for Airflow, Dagster or Prefect tasks.

Each function takes a config path (or loaded :class:`Settings`) and returns
plain values; failures raise :class:`connector.errors.ConnectorError`
subclasses whose ``exit_code`` and ``retryable`` attributes tell a scheduler
what to do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import quote, unquote, urlsplit

from connector import log
from connector.checks import check_columns
from connector.config import Settings, load_settings
from connector.errors import ConfigError, ConnectorError, MappingError, SinkError
from connector.mapping import OrderMapper, load_mapping
from connector.pipeline import RunOptions, run
from connector.records import Reject
from connector.sink import OrderSink
from connector.source import CursorWindow, Warehouse
from connector.state import describe_cursor, open_store
from connector.summary import RunSummary

P = ParamSpec("P")
T = TypeVar("T")

__all__ = [
    "RunOptions",
    "RunSummary",
    "check",
    "preview",
    "settings_from",
    "state_reset",
    "state_set",
    "state_show",
    "sync",
]

# Fields masked by preview(): raw personal values the API accepts as such.
_MASKED_FIELDS = (
    "customer_name",
    "customer_ip_address",
    "customer_email",
    "customer_phone_number",
)
_MASKED_ADDRESS = ("address1", "address2", "city", "zip")


def _public(func: Callable[P, T]) -> Callable[P, T]:
    """Raise ConnectorErrors from ``func`` without third-party causes.

    A warehouse driver's error, chained as the cause, can quote a row value
    in its message, and schedulers log the whole chain.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return func(*args, **kwargs)
        except ConnectorError as exc:
            log.drop_foreign_causes(exc)
            raise

    return wrapper


def settings_from(config: str | Path | Settings) -> Settings:
    """Load settings and register their secrets with the log redaction."""
    settings = config if isinstance(config, Settings) else load_settings(config)
    log.register_secrets(_secrets_of(settings))
    return settings


def _secrets_of(settings: Settings) -> list[str]:
    """Return the secret values of ``settings``, URL passwords in every form."""
    secrets = [
        settings.northbeam.api_key.get_secret_value(),
        settings.northbeam.client_id.get_secret_value(),
    ]
    warehouse = settings.warehouse
    if warehouse.url is not None:
        url = warehouse.url.get_secret_value()
        secrets.append(url)
        password = urlsplit(url).password
        if password:
            secrets.extend({password, unquote(password), quote(unquote(password))})
    snowflake = warehouse.snowflake
    if snowflake is not None:
        for secret in (snowflake.password, snowflake.private_key_passphrase):
            if secret is not None:
                secrets.append(secret.get_secret_value())
    return secrets


@_public
def sync(
    config: str | Path | Settings, options: RunOptions | None = None
) -> RunSummary:
    """Run one sync; see :func:`connector.pipeline.run`.

    Raises ConfigError for backfill bounds that are not of the cursor
    column's kind or that make an empty range.
    """
    settings = settings_from(config)
    if options is not None and options.is_backfill:
        _check_backfill(settings, options)
    return run(settings, options)


def _check_backfill(settings: Settings, options: RunOptions) -> None:
    bounds = {"--since": options.since, "--until": options.until}
    given = {name: value for name, value in bounds.items() if value is not None}
    for name, value in given.items():
        if isinstance(value, bool) or not isinstance(value, int | date | Decimal):
            raise ConfigError(
                f"{name} must be an integer, a date or a datetime, not "
                f"{type(value).__name__}; parse text bounds before passing them"
            )
    _check_cursor_kind(settings, given)
    since, until = options.since, options.until
    if since is not None and until is not None and not since < until:
        raise ConfigError(
            f"--since {describe_cursor(since)} is not before --until "
            f"{describe_cursor(until)}, so the backfill "
            "range is empty; swap the bounds"
        )


@_public
def check(config: str | Path | Settings, *, verify_api: bool = True) -> list[str]:
    """Check config, mapping, warehouse columns and credentials; send nothing.

    The credentials are checked with a read of today's orders, the one
    request the check sends. Returns report lines.

    Raises:
        ConfigError: the config file is invalid.
        MappingError: the mapping file is invalid, or it does not match the
            warehouse. The message lists every problem at once, with mapping
            lines, and includes a credentials failure if there was one.
        SourceError: the warehouse cannot be reached.
        SinkError: the API rejected the credentials or could not be reached.
    """
    settings = settings_from(config)
    mapping_path = settings.resolve(settings.mapping)
    mapper = OrderMapper(load_mapping(mapping_path, settings.northbeam.api_version))
    lines = [f"config ok, mapping ok: {mapping_path}"]

    with Warehouse.connect(settings.warehouse, settings.base_dir) as warehouse:
        lines.append(f"warehouse: connected ({warehouse.dialect})")
        report = check_columns(warehouse, mapper)
    lines.extend(report.lines)

    credentials_error: SinkError | None = None
    if verify_api:
        try:
            lines.append(_verify_credentials(settings))
        except SinkError as exc:
            credentials_error = exc
    else:
        lines.append("credentials not checked (--offline)")

    problems = report.problems
    if problems:
        if credentials_error is not None:
            problems.append(f"credentials: {credentials_error}")
        raise MappingError(
            f"{len(problems)} problem(s) found:\n  " + "\n  ".join(problems),
            path=str(mapping_path),
        )
    if credentials_error is not None:
        raise credentials_error
    return lines


def _verify_credentials(settings: Settings) -> str:
    api = settings.northbeam
    with OrderSink(api) as sink:
        host = sink.verify_credentials()
    return f"credentials accepted by {host} ({api.url}, Orders API {api.api_version})"


@_public
def preview(config: str | Path | Settings, limit: int = 5) -> list[dict[str, Any]]:
    """Return the first ``limit`` orders as they would be sent, or their rejects.

    Raw personal fields are masked in the result: names, IP addresses,
    address lines, and emails and phone numbers sent raw by opt-in.
    """
    from connector.prepare import OrderPreparer
    from connector.transform.identity import IdentityHasher
    from connector.validate import OrderValidator

    settings = settings_from(config)
    api_settings = settings.northbeam
    mapping = load_mapping(settings.resolve(settings.mapping), api_settings.api_version)
    mapper = OrderMapper(mapping)
    preparer = OrderPreparer(
        mapper,
        IdentityHasher(mapping.identity_policy),
        OrderValidator(api_settings.api_version),
        f"{api_settings.url} {api_settings.api_version}",
    )
    spec = mapper.orders_spec
    with Warehouse.connect(settings.warehouse, settings.base_dir) as warehouse:
        rows = _first_rows(warehouse.stream_rows(spec, CursorWindow(), limit), limit)
        if len(rows) < limit:
            more = warehouse.stream_null_cursor_rows(spec, limit)
            rows += _first_rows(more, limit - len(rows))
        children = _children(warehouse, mapper, rows)

    out: list[dict[str, Any]] = []
    for row in rows:
        key = str(row[spec.key])
        own = {name: groups.get(key, []) for name, groups in children.items()}
        item, document = preparer.prepare(row, own)
        out.append(_describe(item, document))
    return out


def _first_rows(chunks: Iterator[list[dict[str, Any]]], limit: int) -> list[Any]:
    """Return up to ``limit`` rows of a streamed read, then end the read.

    Ending it closes the server-side cursor that a PostgreSQL read keeps open.
    """
    try:
        rows = list(next(chunks, [])) if limit > 0 else []
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return rows[:limit]


def _children(
    warehouse: Warehouse, mapper: OrderMapper, rows: list[dict[str, Any]]
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    keys = [row[mapper.orders_spec.key] for row in rows]
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for name, spec in mapper.child_specs.items():
        groups: dict[str, list[dict[str, Any]]] = {}
        for child in warehouse.rows_by_keys(spec, keys):
            groups.setdefault(str(child[spec.key]), []).append(child)
        grouped[name] = groups
    return grouped


def _describe(item: Any, document: dict[str, Any] | None) -> dict[str, Any]:
    if isinstance(item, Reject):
        return {
            "rejected": item.order_key,
            "stage": item.stage,
            "field_path": item.field_path,
            "reason": item.reason,
        }
    assert document is not None
    shown = dict(document)
    for name in _MASKED_FIELDS:
        if name in shown:
            shown[name] = "<masked>"
    address = shown.get("customer_shipping_address")
    if isinstance(address, dict):
        shown["customer_shipping_address"] = {
            k: "<masked>" if k in _MASKED_ADDRESS else v for k, v in address.items()
        }
    return shown


@contextmanager
def _store(settings: Settings) -> Iterator[Any]:
    if settings.state.backend == "sqlite":
        store = open_store(settings, None)
        try:
            yield store
        finally:
            store.close()
        return
    with Warehouse.connect(settings.warehouse, settings.base_dir) as warehouse:
        store = open_store(settings, warehouse)
        try:
            yield store
        finally:
            store.close()


@_public
def state_show(config: str | Path | Settings) -> dict[str, Any]:
    """Return the stored state of the sync as a JSON-friendly dict."""
    settings = settings_from(config)
    with _store(settings) as store:
        info: dict[str, Any] = store.show(settings.sync.name)
        return info


@_public
def state_reset(config: str | Path | Settings) -> None:
    """Forget the high-water mark, fingerprints and rejects of the sync.

    Raises LockedError while a run of the sync holds the lock, because the
    run's next checkpoint would write over the reset.
    """
    settings = settings_from(config)
    name = settings.sync.name
    with _store(settings) as store, _edit_lock(store, settings):
        store.reset(name)


@_public
def state_set(config: str | Path | Settings, cursor: Any) -> None:
    """Set the high-water mark the next incremental run starts from.

    Raises LockedError while a run of the sync holds the lock.
    """
    settings = settings_from(config)
    _check_cursor_kind(settings, {"--cursor": cursor})
    with _store(settings) as store, _edit_lock(store, settings):
        store.set_high_water_mark(settings.sync.name, cursor)


def _cursor_kind(value: Any) -> str:
    if isinstance(value, datetime):
        return (
            "timestamp with offset"
            if value.utcoffset() is not None
            else ("timestamp without offset")
        )
    if isinstance(value, date):
        return "date"
    return "number"


def _check_cursor_kind(settings: Settings, values: dict[str, Any]) -> None:
    """Raise ConfigError unless each value has the kind of the cursor column.

    A mark or bound of another kind fails when the warehouse or the state
    compares it with the column's values, or shifts with a session time zone.
    """
    mapping = load_mapping(
        settings.resolve(settings.mapping), settings.northbeam.api_version
    )
    spec = OrderMapper(mapping).orders_spec
    with Warehouse.connect(settings.warehouse, settings.base_dir) as warehouse:
        sample = warehouse.max_cursor(spec)
    if sample is None:
        return
    expected = _cursor_kind(sample)
    for name, value in values.items():
        given = _cursor_kind(value)
        if given != expected:
            raise ConfigError(
                f"{name} {describe_cursor(value)} is a {given}, but the cursor column "
                f"{spec.cursor} holds a {expected} (for example "
                f"{describe_cursor(sample)}). Give the value in that form."
            )


def _edit_lock(store: Any, settings: Settings) -> Any:
    return store.lock(
        settings.sync.name,
        owner="state-command",
        timeout_seconds=settings.state.lock_timeout_seconds,
    )

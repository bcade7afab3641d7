"""The Python API behind the CLI, for Airflow, Dagster or Prefect tasks.

Each function takes a config path (or loaded :class:`Settings`) and returns
plain values; failures raise :class:`connector.errors.ConnectorError`
subclasses whose ``exit_code`` and ``retryable`` attributes tell a scheduler
what to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from connector import log
from connector.checks import check_columns
from connector.config import Settings, load_settings
from connector.mapping import OrderMapper, load_mapping
from connector.pipeline import RunOptions, open_store, run
from connector.records import Reject
from connector.sink import OrderSink
from connector.source import CursorWindow, Warehouse
from connector.summary import RunSummary

# Fields masked by preview(): raw personal values the API accepts as such.
_MASKED_FIELDS = ("customer_name", "customer_ip_address")
_MASKED_ADDRESS = ("address1", "address2", "city", "zip")


def settings_from(config: str | Path | Settings) -> Settings:
    """Load settings and register their secrets with the log redaction."""
    settings = config if isinstance(config, Settings) else load_settings(config)
    secrets = [
        settings.northbeam.api_key.get_secret_value(),
        settings.northbeam.client_id.get_secret_value(),
    ]
    if settings.warehouse.url is not None:
        secrets.append(settings.warehouse.url.get_secret_value())
    snowflake = settings.warehouse.snowflake
    if snowflake is not None and snowflake.password is not None:
        secrets.append(snowflake.password.get_secret_value())
    log.register_secrets(secrets)
    return settings


def sync(
    config: str | Path | Settings, options: RunOptions | None = None
) -> RunSummary:
    """Run one sync; see :func:`connector.pipeline.run`."""
    return run(settings_from(config), options)


def check(config: str | Path | Settings, *, verify_api: bool = True) -> list[str]:
    """Check config, mapping, warehouse columns and credentials; send nothing.

    Returns report lines. Raises MappingError listing every missing column
    with its mapping line at once.
    """
    settings = settings_from(config)
    mapping_path = settings.resolve(settings.mapping)
    mapper = OrderMapper(load_mapping(mapping_path, settings.northbeam.api_version))
    lines = [f"config ok, mapping ok: {mapping_path}"]

    with Warehouse.connect(settings.warehouse, settings.base_dir) as warehouse:
        lines.extend(check_columns(warehouse, mapper, str(mapping_path)))

    if verify_api:
        sink = OrderSink(settings.northbeam)
        try:
            host = sink.verify_credentials()
        finally:
            sink.close()
        lines.append(f"credentials accepted by {host}")
    else:
        lines.append("credentials not checked (--offline)")
    return lines


def preview(config: str | Path | Settings, limit: int = 5) -> list[dict[str, Any]]:
    """Return the first ``limit`` orders as they would be sent, or their rejects.

    Names, IP addresses and address lines are masked in the result.
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
    out: list[dict[str, Any]] = []
    with Warehouse.connect(settings.warehouse, settings.base_dir) as warehouse:
        spec = mapper.orders_spec
        for rows in warehouse.stream_rows(spec, CursorWindow(), max(limit, 1)):
            rows = rows[: limit - len(out)]
            children = _children(warehouse, mapper, rows)
            for row in rows:
                key = str(row[spec.key])
                own = {name: groups.get(key, []) for name, groups in children.items()}
                item, document = preparer.prepare(row, own)
                out.append(_describe(item, document))
            if len(out) >= limit:
                break
    return out


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


def state_show(config: str | Path | Settings) -> dict[str, Any]:
    """Return the stored state of the sync as a JSON-friendly dict."""
    settings = settings_from(config)
    with _store(settings) as store:
        info: dict[str, Any] = store.show(settings.sync.name)
        return info


def state_reset(config: str | Path | Settings) -> None:
    """Forget the high-water mark, fingerprints and rejects of the sync."""
    settings = settings_from(config)
    with _store(settings) as store:
        store.reset(settings.sync.name)


def state_set(config: str | Path | Settings, cursor: Any) -> None:
    """Set the high-water mark the next incremental run starts from."""
    settings = settings_from(config)
    with _store(settings) as store:
        store.set_high_water_mark(settings.sync.name, cursor)

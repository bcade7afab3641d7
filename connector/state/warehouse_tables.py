"""Tables of the warehouse state store, defined with SQLAlchemy Core.

The configured name ``state.table`` (optionally ``schema.table``) is the
table of sync rows. Fingerprints, pending rejects and locks are in tables
with the suffixes ``_fingerprints``, ``_rejects`` and ``_locks``. Times are
ISO-8601 text in UTC and cursors are type-tagged JSON text, so every dialect
stores them the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Column, Integer, MetaData, String, Table, Text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from connector.errors import ConfigError, StateError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# PostgreSQL truncates identifiers beyond 63 bytes, and the longest suffix
# adds 13 characters.
_MAX_BASE_NAME = 50


@dataclass(frozen=True, slots=True)
class StateTables:
    """The four tables of one warehouse state store."""

    metadata: MetaData
    syncs: Table
    fingerprints: Table
    rejects: Table
    locks: Table


def define_tables(table: str) -> StateTables:
    """Define the state tables for ``state.table`` (``name`` or ``schema.name``).

    Raises:
        ConfigError: the name is not one or two plain SQL identifiers.
    """
    schema, base = _split_name(table)
    metadata = MetaData(schema=schema)
    return StateTables(
        metadata=metadata,
        syncs=Table(
            base,
            metadata,
            Column("sync_name", String(64), primary_key=True),
            Column("high_water_mark", Text),
            Column("child_marks", Text, nullable=False),
            Column("mapping_fingerprint", String(64)),
            Column("created_at", String(40), nullable=False),
            Column("updated_at", String(40), nullable=False),
        ),
        fingerprints=Table(
            f"{base}_fingerprints",
            metadata,
            Column("sync_name", String(64), primary_key=True),
            Column("order_key", String, primary_key=True),
            Column("fingerprint", String(64), nullable=False),
        ),
        rejects=Table(
            f"{base}_rejects",
            metadata,
            Column("sync_name", String(64), primary_key=True),
            Column("order_key", String, primary_key=True),
            Column("stage", String(32), nullable=False),
            Column("reason", Text, nullable=False),
            Column("order_id", String),
            Column("field_path", String),
            Column("first_seen", String(40), nullable=False),
            Column("last_seen", String(40), nullable=False),
            Column("attempts", Integer, nullable=False),
        ),
        locks=Table(
            f"{base}_locks",
            metadata,
            Column("sync_name", String(64), primary_key=True),
            Column("token", String(32), nullable=False),
            Column("owner", String, nullable=False),
            Column("host", String, nullable=False),
            Column("pid", Integer, nullable=False),
            Column("acquired_at", String(40), nullable=False),
            Column("heartbeat_at", String(40), nullable=False),
        ),
    )


def state_error(table: str, action: str, exc: SQLAlchemyError) -> StateError:
    """Build the StateError for a failed statement on the state tables."""
    # The driver's message only, because SQLAlchemy's adds the parameters.
    detail = str(exc.orig) if isinstance(exc, DBAPIError) else type(exc).__name__
    return StateError(
        f"state table {table}: {action} failed ({detail.strip()}). Check the "
        "warehouse connection, and check that the user may create, read and "
        "write this table and its _fingerprints, _rejects and _locks tables"
    )


def _split_name(table: str) -> tuple[str | None, str]:
    parts = table.split(".")
    valid = len(parts) <= 2 and all(_IDENTIFIER.match(part) for part in parts)
    if not valid or len(parts[-1]) > _MAX_BASE_NAME:
        raise ConfigError(
            f"state.table {table!r} is not a valid table name. Use letters, "
            "digits and underscores, optionally after a schema and a dot "
            f"(analytics.northbeam_sync_state), and at most {_MAX_BASE_NAME} "
            "characters after the schema",
            key="state.table",
        )
    if len(parts) == 2:
        return parts[0], parts[1]
    return None, parts[0]

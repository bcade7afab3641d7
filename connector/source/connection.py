"""SQLAlchemy engines for the supported warehouses, built from settings.

Secrets never enter a URL string that could be printed: the Snowflake
password and private key travel in ``connect_args``, and every secret is
handed to the :class:`Redactor` that cleans error messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import QueuePool

from connector.config import SnowflakeSettings, WarehouseSettings
from connector.errors import ConfigError
from connector.source.failures import Redactor
from connector.source.profiles import profile_connection

_POSTGRES_NAMES = ("postgresql", "postgres")
_FILE_DIALECTS = ("duckdb", "sqlite")
_URL_EXAMPLE = "postgresql+psycopg://user@host:5432/db or duckdb:///orders.duckdb"


def build_engine(
    settings: WarehouseSettings, base_dir: Path, redactor: Redactor
) -> Engine:
    """Create the engine for ``warehouse.url``, ``.snowflake`` or the dbt profile.

    Raises:
        ConfigError: the settings name an unusable URL, key or profile.
    """
    if settings.snowflake is not None:
        return snowflake_engine(settings.snowflake, base_dir, redactor)
    if settings.url is not None:
        url = parse_url(settings.url.get_secret_value())
        return engine_from_url(normalize_url(url, base_dir), redactor)

    assert settings.dbt is not None, "WarehouseSettings requires one connection"
    target = profile_connection(settings.dbt, base_dir)
    if isinstance(target, SnowflakeSettings):
        return snowflake_engine(target, base_dir, redactor)
    return engine_from_url(normalize_url(target, base_dir), redactor, "warehouse.dbt")


def parse_url(text: str, setting: str = "warehouse.url") -> URL:
    """Parse a SQLAlchemy URL without echoing it, since it may contain a password.

    Raises:
        ConfigError: the text is not a SQLAlchemy URL.
    """
    try:
        return make_url(text)
    except ArgumentError:
        raise ConfigError(
            f"{setting} is not a valid SQLAlchemy URL (value not shown, it may "
            f"contain a password); write it like {_URL_EXAMPLE}",
            key=setting,
        ) from None


def normalize_url(url: URL, base_dir: Path) -> URL:
    """Pick the psycopg 3 driver for PostgreSQL and anchor relative file paths.

    A relative DuckDB or SQLite path is read against ``base_dir``, the config
    file's folder, so a run works from any working directory.
    """
    if url.drivername in _POSTGRES_NAMES:
        url = url.set(drivername="postgresql+psycopg")
    is_file = url.get_backend_name() in _FILE_DIALECTS
    database = url.database
    if is_file and database and not _is_memory(database):
        path = Path(database).expanduser()
        if not path.is_absolute():
            path = base_dir / path
            url = url.set(database=str(path))
        if not path.exists():
            # Opening a missing file would create an empty database, and the
            # run would then fail on a missing table instead of the path.
            raise ConfigError(
                f"the {url.get_backend_name()} database file {path} does not "
                "exist; check the path in the URL (a relative path is read from "
                "the config file's folder)",
                key="warehouse.url",
            )
    return url


def _is_memory(database: str | None) -> bool:
    return database in (None, "", ":memory:")


def engine_from_url(
    url: URL, redactor: Redactor, setting: str = "warehouse.url"
) -> Engine:
    """Create an engine for a normalized URL and register its password.

    Raises:
        ConfigError: no SQLAlchemy dialect is installed for the URL's scheme.
    """
    redactor.add(url.password if isinstance(url.password, str) else None)
    redactor.add(url.render_as_string(hide_password=False))
    if url.get_backend_name() == "duckdb" and _is_memory(url.database):
        return _memory_duckdb_engine(url)
    try:
        return sa.create_engine(url, pool_pre_ping=True)
    except NoSuchModuleError:
        raise ConfigError(
            f"{setting} names the database driver {url.drivername!r}, which is "
            "not installed; use postgresql+psycopg://, duckdb:/// or snowflake://",
            key=setting,
        ) from None


def _memory_duckdb_engine(url: URL) -> Engine:
    # One in-memory database, opened once; each pooled connection is a
    # cursor of it. DuckDB's default pool for ":memory:" hands one thread a
    # single shared connection, so a second query (child rows) would end a
    # stream that is still being read.
    import duckdb_engine

    config: dict[str, str | bool | int | float | list[str]] = {
        key: str(value) for key, value in url.query.items()
    }
    database = duckdb.connect(":memory:", config=config)

    def _connect() -> Any:
        return duckdb_engine.ConnectionWrapper(database.cursor())

    engine = sa.create_engine(
        "duckdb:///:memory:", creator=_connect, poolclass=QueuePool
    )
    sa.event.listen(engine, "engine_disposed", lambda _engine: database.close())
    return engine


def snowflake_engine(
    settings: SnowflakeSettings, base_dir: Path, redactor: Redactor
) -> Engine:
    """Create an engine for Snowflake with password or key-pair authentication.

    Raises:
        ConfigError: the private key file is missing, unreadable or cannot be
            decrypted with the passphrase.
    """
    from snowflake.sqlalchemy import URL as snowflake_url  # type: ignore[import-untyped]

    parts = {
        "account": settings.account,
        "user": settings.user,
        "database": settings.database,
        "schema": settings.schema_,
        "warehouse": settings.warehouse,
        "role": settings.role,
    }
    url = snowflake_url(**{key: value for key, value in parts.items() if value})
    connect_args: dict[str, Any] = {}
    if settings.password is not None:
        password = settings.password.get_secret_value()
        redactor.add(password)
        connect_args["password"] = password
    if settings.private_key_path is not None:
        path = settings.private_key_path.expanduser()
        path = path if path.is_absolute() else base_dir / path
        passphrase = settings.private_key_passphrase
        secret = passphrase.get_secret_value() if passphrase is not None else None
        redactor.add(secret)
        connect_args["private_key"] = load_private_key(path, secret)
    # No pool_pre_ping: on Snowflake each ping is a network round trip, and
    # rows_by_keys checks out a connection once per chunk of orders.
    return sa.create_engine(url, connect_args=connect_args)


def load_private_key(path: Path, passphrase: str | None) -> bytes:
    """Read a PEM private key and return it as unencrypted DER (PKCS#8) bytes.

    Raises:
        ConfigError: the file cannot be read, is not a PEM private key, or
            the passphrase is missing or wrong.
    """
    setting = "warehouse.snowflake.private_key_path"
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the Snowflake private key {path} ({setting}): "
            f"{exc.strerror}; check the path and the file's permissions",
            key=setting,
        ) from None
    try:
        key = serialization.load_pem_private_key(
            pem, password=passphrase.encode() if passphrase is not None else None
        )
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"cannot load the Snowflake private key {path}: {_key_problem(exc)}",
            key=setting,
        ) from None
    return key.private_bytes(
        encoding=serialization.Encoding.DER,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


def _key_problem(exc: Exception) -> str:
    # cryptography raises TypeError when the passphrase presence does not
    # match the file, and ValueError for a wrong passphrase or bad PEM.
    if isinstance(exc, TypeError):
        return (
            "the key is encrypted but warehouse.snowflake.private_key_passphrase "
            "is not set, or the key is not encrypted but a passphrase is set"
        )
    return (
        "the file is not a PEM private key or the passphrase in "
        "warehouse.snowflake.private_key_passphrase is wrong"
    )

"""Read order rows from the warehouse: windows of a cursor, keys, and changes.

::

    with Warehouse.connect(settings.warehouse, settings.base_dir) as warehouse:
        for rows in warehouse.stream_rows(spec, CursorWindow(lower=mark), 5000):
            ...

Rows are dicts keyed by lowercased column name. When the spec has a
cursor, each row also carries ``"__cursor"``, the effective cursor value
``COALESCE(cursor, cursor_fallback)``. Cursor values are bound back into
queries exactly as the warehouse returned them (aware or naive
``datetime``, ``date``, ``int``, ``Decimal``), so comparisons never depend on
the session's or the machine's time zone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.sql.elements import TextClause

from connector.config import WarehouseSettings
from connector.errors import SourceError
from connector.source import buffer, failures, pages, query
from connector.source import keys as key_values
from connector.source.binding import bind_spec, check_cursor_bound
from connector.source.columns import Column, Row, describe_columns, row_builder
from connector.source.connection import build_engine
from connector.source.dbt import DbtProject
from connector.source.failures import Redactor, permanent_error
from connector.source.identifiers import close_names, parse_table_name
from connector.source.spec import CursorWindow, Relation, SourceSpec

logger = logging.getLogger(__name__)

#: Keys per IN list in ``rows_by_keys``, so statements stay small everywhere.
MAX_KEYS_PER_STATEMENT = 1000
#: Keys per statement where they are bound as one list value (DuckDB). The
#: statement's size no longer grows with the keys. The sync passes up to
#: chunk_rows keys at once (5,000 by default), and 5,000 keys per statement
#: read child rows 1.35 times faster than 1,000 (DuckDB 2.0.1).
MAX_KEYS_PER_LIST = 10_000
# Text of DuckDB's error when another process has the file's lock.
_DUCKDB_LOCKED = "Could not set lock on file"
# Text of DuckDB's error for a second connection of this process with other
# settings.
_DUCKDB_OTHER_CONFIG = "with a different configuration"
#: Rows fetched per round trip while ``changed_keys`` reads its key list.
_KEY_SCAN_ROWS = 10_000


class Warehouse:
    """A connection pool to one warehouse, and the reads the sync needs.

    Use :meth:`connect` to build one from settings. The object is a context
    manager; leaving the block closes every pooled connection.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        dbt_project: DbtProject | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self._engine = engine
        self._dbt = dbt_project
        self._redactor = redactor or Redactor()
        self._bound: dict[SourceSpec, query.BoundSpec] = {}
        self._relations: dict[str, list[Column]] = {}
        # Whether bounded_buffer has capped DuckDB's buffer pool.
        self._capped = False

    @classmethod
    def connect(cls, settings: WarehouseSettings, base_dir: Path) -> Warehouse:
        """Open the warehouse named by the settings and run a test query.

        Relative paths (DuckDB files, key files, the dbt project) are read
        against ``base_dir``, the config file's folder.

        Raises:
            ConfigError: a setting cannot be used (bad URL, unreadable key).
            SourceError: the warehouse does not accept a connection.
        """
        redactor = Redactor()
        dbt_project = None
        if settings.dbt is not None:
            project_dir = settings.dbt.project_dir.expanduser()
            if not project_dir.is_absolute():
                project_dir = base_dir / project_dir
            dbt_project = DbtProject(project_dir)
        engine = build_engine(settings, base_dir, redactor)
        warehouse = cls(engine, dbt_project=dbt_project, redactor=redactor)
        try:
            warehouse.ping()
        except SourceError:
            warehouse.close()
            raise
        return warehouse

    def __repr__(self) -> str:
        # The URL is left out on purpose: it may contain a password.
        return f"Warehouse(dialect={self.dialect!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, shared with the warehouse state store."""
        return self._engine

    @property
    def dialect(self) -> str:
        """SQLAlchemy dialect name: ``duckdb``, ``postgresql`` or ``snowflake``."""
        return str(self._engine.dialect.name)

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    @contextlib.contextmanager
    def bounded_buffer(self, specs: Sequence[SourceSpec]) -> Iterator[bool]:
        """Cap DuckDB's buffer pool inside if ``specs`` are all base tables.

        ``specs[0]`` is the orders source. Yields whether the cap applies:
        only to a DuckDB file whose limit nothing has set, when every source
        is a base table and the orders window is read in pages (see
        ``connector.source.buffer``). A read that fails under the cap lifts
        it and runs again.
        """
        if not self._may_cap(specs):
            yield False
            return
        logger.info(
            "DuckDB's buffer pool is capped at %s while the sync reads; set "
            "memory_limit in warehouse.url to choose another size",
            buffer.READ_MEMORY_LIMIT,
        )
        buffer.set_limit(self._engine, buffer.READ_MEMORY_LIMIT)
        self._capped = True
        try:
            yield True
        finally:
            if self._capped:
                self._capped = False
                buffer.reset_limit(self._engine)

    def _may_cap(self, specs: Sequence[SourceSpec]) -> bool:
        if self.dialect != "duckdb" or not buffer.may_cap(self._engine.url):
            return False
        if not specs:
            return False
        orders, children = specs[0], specs[1:]
        # Otherwise the orders window is one sorted statement, whose memory
        # grows with the window.
        if not self._reads_in_pages(orders, self._bind(orders), CursorWindow()):
            return False
        labels = [spec.relation.table or spec.relation.model or "" for spec in children]
        if not all(map(self._is_base_table, children, labels)):
            return False
        return buffer.is_default_limit(self._engine)

    def ping(self) -> None:
        """Run ``SELECT 1``.

        Raises:
            SourceError: the warehouse cannot be reached or refused the login.
        """
        try:
            with self._engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except SQLAlchemyError as exc:
            # Not chained: a driver's connection error can quote the
            # connection string, password included.
            raise SourceError(
                f"cannot connect to the {self.dialect} warehouse: "
                f"{self._redactor.driver_message(exc)} {self._connect_hint(exc)}"
            ) from None

    def _connect_hint(self, exc: SQLAlchemyError) -> str:
        if self.dialect == "duckdb" and _DUCKDB_LOCKED in str(exc):
            return (
                f"Another process has {self._engine.url.database} open: DuckDB "
                "lets only one process open a file while it is open for "
                "writing. It may be another sync on this file or a job that "
                "writes it, such as dbt. Run again once it has finished."
            )
        if self.dialect == "duckdb" and _DUCKDB_OTHER_CONFIG in str(exc):
            return (
                f"This process already has {self._engine.url.database} open "
                "with other DuckDB settings. Give warehouse.url the same "
                "settings as that connection, or close it before the sync."
            )
        if self.dialect in ("duckdb", "sqlite"):
            # A local file has no host or login, so what fails is the path or
            # a setting in the URL's query.
            return (
                "Check the file's path and the settings after '?' in "
                "warehouse.url, or the path and settings of the dbt profile's "
                "target when the connection comes from profiles.yml."
            )
        return (
            "Check the connection settings (host, port, user, password). If "
            "the warehouse was down or unreachable, running again may succeed."
        )

    def resolve(self, spec: SourceSpec) -> SourceSpec:
        """Return ``spec`` with a dbt ``model`` replaced by its table.

        Raises:
            SourceError: the spec names a model but no dbt project is
                configured, or the model cannot be resolved.
        """
        model = spec.relation.model
        if model is None:
            return spec
        if self._dbt is None:
            raise permanent_error(
                f"the mapping reads dbt model {model}, but no dbt project is "
                "configured; set warehouse.dbt.project_dir in the config"
            )
        relation = Relation(table=self._dbt.relation_name(model))
        logger.debug("dbt model %s resolved to %s", model, relation.table)
        return dataclasses.replace(spec, relation=relation)

    def describe(self, spec: SourceSpec) -> dict[str, str]:
        """Return lowercased column name -> type name for the spec's rows.

        Relation columns and expression aliases are listed, ``__cursor`` is
        not. The where clause and expressions are run (on no rows), so an
        error in them shows here.

        Raises:
            SourceError: the relation, a named column, the where clause or
                an expression fails.
        """
        bound = self._bind(spec)
        try:
            with self._engine.connect() as conn:
                result = conn.execute(query.describe_statement(bound))
                columns = describe_columns(self.dialect, _description(result))
                result.close()
        except DBAPIError as exc:
            raise failures.fragment_error(
                self._redactor, exc, spec, bound.label
            ) from exc
        return {
            column.name.lower(): column.type_name
            for column in columns
            if column.name.lower() != query.CURSOR_ALIAS
        }

    def stream_rows(
        self, spec: SourceSpec, window: CursorWindow, chunk_rows: int
    ) -> Iterator[list[Row]]:
        """Yield lists of up to ``chunk_rows`` rows with the cursor in ``window``.

        Rows come ordered by effective cursor, then key; rows whose
        effective cursor is NULL are left out (see
        :meth:`stream_null_cursor_rows`). Without a cursor in the spec every
        row is returned, by key. Rows are fetched ``chunk_rows`` at a time
        (a server-side cursor on PostgreSQL), never all at once. On DuckDB,
        which sorts inside this process, each chunk is its own LIMIT query
        (see :mod:`connector.source.pages`), where the key and cursor types
        allow it.

        Raises:
            SourceError: the spec does not match the relation, or the query
                fails while rows are read.
        """
        bound = self._bind(spec)
        if bound.cursor_sql is None and (window.lower, window.upper) != (None, None):
            raise permanent_error(
                f"{bound.label} has no cursor column, so rows cannot be read "
                "from a cursor window; set a cursor in the mapping"
            )
        for value in (window.lower, window.upper):
            check_cursor_bound(bound, value)
        if self._reads_in_pages(spec, bound, window):
            # DuckDB would sort the whole window inside this process.
            fetch = functools.partial(self._fetch, label=bound.label)
            return pages.read_pages(fetch, bound, window, chunk_rows)
        statement, params = query.window_statement(bound, window)
        return self._stream(statement, params, chunk_rows, bound.label)

    def stream_null_cursor_rows(
        self, spec: SourceSpec, chunk_rows: int
    ) -> Iterator[list[Row]]:
        """Yield lists of the rows whose effective cursor is NULL, by key.

        Nothing is yielded when the spec has no cursor.
        """
        bound = self._bind(spec)
        if bound.cursor_sql is None:
            return iter(())
        statement = query.null_cursor_statement(bound)
        return self._stream(statement, {}, chunk_rows, bound.label)

    def rows_by_keys(
        self, spec: SourceSpec, keys: Sequence[Any], *, as_text: bool = False
    ) -> list[Row]:
        """Return the rows whose key column is one of ``keys``.

        Keys are converted to the key column's type first (text to integer,
        integer to text, and so on), so an order key read from one table
        finds child rows in another whose key column has a different type.
        Set ``as_text`` when the keys are ``str(value)`` of key values, as
        state stores them. NULL-cursor rows are included. The where clause
        applies. At most 1,000 keys go into one statement, or 10,000 where
        they are bound as one list.
        """
        bound = self._bind(spec)
        prepared = key_values.prepare_keys(keys, bound.key_type, as_text=as_text)
        as_list = self.dialect == "duckdb"
        statement = query.keys_statement(
            bound, compare_text=prepared.compare_text, list_parameter=as_list
        )
        step = MAX_KEYS_PER_LIST if as_list else MAX_KEYS_PER_STATEMENT
        rows: list[Row] = []
        for start in range(0, len(prepared.values), step):
            chunk = prepared.values[start : start + step]
            rows.extend(self._fetch(statement, {"keys": chunk}, bound.label))
        return rows

    def changed_keys(self, spec: SourceSpec, since: Any) -> tuple[list[Any], Any]:
        """Return the distinct keys of rows with effective cursor >= ``since``.

        Also returns the max effective cursor among those rows, or None when
        there are none. ``since=None`` takes every row with a non-NULL
        cursor.

        Raises:
            SourceError: the spec has no cursor, or the query fails.
        """
        bound = self._bind(spec)
        if bound.cursor_sql is None:
            raise permanent_error(
                f"{bound.label} has no cursor column, so changed rows cannot be "
                "found; set a cursor for it in the mapping"
            )
        check_cursor_bound(bound, since)
        statement, params = query.changed_keys_statement(bound, since)
        found: list[Any] = []
        top: Any = None
        for rows in self._stream(statement, params, _KEY_SCAN_ROWS, bound.label):
            for row in rows:
                found.append(row[query.KEY_ALIAS])
                value = row[query.MAX_ALIAS]
                top = value if top is None or value > top else top
        return found, top

    def max_cursor(self, spec: SourceSpec) -> Any:
        """Return the max effective cursor of the spec's rows, or None."""
        bound = self._bind(spec)
        if bound.cursor_sql is None:
            return None
        rows = self._fetch(query.max_cursor_statement(bound), {}, bound.label)
        return rows[0][query.MAX_ALIAS] if rows else None

    def _reads_in_pages(
        self, spec: SourceSpec, bound: query.BoundSpec, window: CursorWindow
    ) -> bool:
        """Return whether ``window`` of ``spec`` is read in pages (DuckDB tables)."""
        if self.dialect != "duckdb" or not pages.can_page(bound):
            return False
        if not self._is_base_table(spec, bound.label):
            return False
        fetch = functools.partial(self._fetch, label=bound.label)
        return pages.finite_range(fetch, bound, window)

    def _is_base_table(self, spec: SourceSpec, label: str) -> bool:
        """Tell whether DuckDB resolves the relation of ``spec`` to a base table."""
        table = self.resolve(spec).relation.table
        if table is None:
            return False
        statement, params = pages.base_table_statement(
            [part.name for part in parse_table_name(table)]
        )
        try:
            rows = self._fetch(statement, params, label)
        except SourceError as exc:
            logger.warning(
                "could not look up %s in the DuckDB catalog (%s); reading it "
                "as a view, in one statement",
                label,
                exc,
            )
            return False
        return bool(rows and rows[0]["paged"])

    # -- binding specs to the relation -----------------------------------

    def _bind(self, spec: SourceSpec) -> query.BoundSpec:
        bound = self._bound.get(spec)
        if bound is None:
            resolved = self.resolve(spec)
            bound = bind_spec(resolved, spec.relation, self._relation_columns)
            self._bound[spec] = bound
        return bound

    def _relation_columns(
        self, from_sql: str, label: str, table: str | None
    ) -> list[Column]:
        cached = self._relations.get(from_sql)
        if cached is not None:
            return cached
        try:
            with self._engine.connect() as conn:
                result = conn.execute(query.probe(from_sql))
                columns = describe_columns(self.dialect, _description(result))
                result.close()
        except DBAPIError as exc:
            raise self._relation_error(exc, label, table) from exc
        self._relations[from_sql] = columns
        return columns

    # -- running statements ----------------------------------------------

    def _stream(
        self, statement: TextClause, params: dict[str, Any], chunk_rows: int, label: str
    ) -> Iterator[list[Row]]:
        options = {"stream_results": True, "yield_per": chunk_rows}
        started = False
        try:
            with self._engine.connect() as conn:
                result = conn.execute(statement, params, execution_options=options)
                # Closed here, not by the connection, so that a caller that
                # stops early also closes PostgreSQL's server-side cursor.
                with result:
                    build = row_builder(self.dialect, _description(result))
                    for part in result.partitions(chunk_rows):
                        started = True
                        yield [build(row) for row in part]
        except DBAPIError as exc:
            if started or not self._lift_cap(exc, label):
                raise failures.query_error(self._redactor, exc, label) from exc
        else:
            return
        yield from self._stream(statement, params, chunk_rows, label)

    def _fetch(
        self, statement: TextClause, params: dict[str, Any], label: str
    ) -> list[Row]:
        try:
            return self._fetch_rows(statement, params)
        except DBAPIError as exc:
            if not self._lift_cap(exc, label):
                raise failures.query_error(self._redactor, exc, label) from exc
        try:
            return self._fetch_rows(statement, params)
        except DBAPIError as exc:
            raise failures.query_error(self._redactor, exc, label) from exc

    def _fetch_rows(self, statement: TextClause, params: dict[str, Any]) -> list[Row]:
        # On DuckDB the rows are the driver's own tuples: it has no
        # server-side cursors, so SQLAlchemy buffers nothing ahead, and
        # skipping its Row objects made child reads 1.1 times faster.
        with (
            self._engine.connect() as conn,
            conn.execute(statement, params) as result,
        ):
            raw = self.dialect == "duckdb"
            build = row_builder(self.dialect, _description(result), raw_json=raw)
            # One fetchall is several times cheaper than fetching row by row.
            rows = result.cursor.fetchall() if raw else result.fetchall()
            return [build(row) for row in rows]

    def _lift_cap(self, exc: DBAPIError, label: str) -> bool:
        """Lift the buffer cap after a read failed under it.

        Returns whether it did, so that the caller reads again. Any error
        lifts it: running out of memory is the usual one, but spilling to
        disk can fail too (a read-only folder), and a read that fails for
        another reason fails again without the cap.
        """
        if not self._capped:
            return False
        logger.info(
            "reading %s failed under the capped buffer pool (%s): %s; reading "
            "again with DuckDB's own limit for the rest of the run",
            label,
            buffer.READ_MEMORY_LIMIT,
            type(exc.orig).__name__,
        )
        buffer.reset_limit(self._engine)
        self._capped = False
        return True

    def _relation_error(
        self, exc: DBAPIError, label: str, table: str | None
    ) -> SourceError:
        near = self._near_tables(table) if table is not None else []
        return failures.relation_error(self._redactor, exc, label, table, near)

    def _near_tables(self, table: str) -> list[str]:
        parts = parse_table_name(table)
        if len(parts) > 2:
            return []
        schema = parts[0].name if len(parts) == 2 else None
        try:
            inspector = sa.inspect(self._engine)
            names = inspector.get_table_names(schema)
            names += inspector.get_view_names(schema)
        except (SQLAlchemyError, NotImplementedError):
            return []
        return close_names(parts[-1].name, names)


def _description(result: Any) -> Sequence[Sequence[Any]]:
    description = result.cursor.description
    return description if description is not None else ()

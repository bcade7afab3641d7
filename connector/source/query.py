"""SQL statements for reading a spec, built from checked names.

Every statement reads ``<relation> AS nbsync_src``. Names come from
:mod:`connector.source.identifiers` (validated, then quoted); values are
always bind parameters. User-written SQL (the ``query`` relation, ``where``
and expressions) is inserted as written, with colons escaped so SQLAlchemy
does not mistake ``'10:30'`` or ``x::date`` for a bind parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import TextClause

from connector.source.spec import CursorWindow

SOURCE_ALIAS = "nbsync_src"
CURSOR_ALIAS = "__cursor"
KEY_ALIAS = "__key"
MAX_ALIAS = "__max"
MIN_ALIAS = "__min"


@dataclass(frozen=True)
class BoundSpec:
    """A spec checked against the relation's real columns, ready to query.

    ``label`` names the relation in messages. The ``*_sql`` fields are SQL
    text. ``cursor_sql`` is the effective cursor expression, with the
    fallback folded in by COALESCE, or None when the spec has no cursor.
    """

    label: str
    from_sql: str
    key_sql: str
    key_type: str
    cursor_sql: str | None
    cursor_type: str | None
    where_sql: str | None
    expressions: tuple[tuple[str, str], ...]
    #: The key column's name as rows carry it (lowercased).
    key_name: str = ""
    #: Types of the columns the effective cursor is built from.
    cursor_types: tuple[str, ...] = ()
    #: Qualified columns to read; empty reads every column.
    columns_sql: tuple[str, ...] = ()


def user_sql(fragment: str) -> str:
    """Escape colons in user SQL so ``text()`` reads none as a parameter."""
    return fragment.replace(":", "\\:")


def from_clause(relation_sql: str) -> str:
    """Return the FROM target with the fixed alias."""
    return f"{relation_sql} AS {SOURCE_ALIAS}"


def probe(relation_from_sql: str) -> TextClause:
    """Select no rows, so the description lists the relation's columns."""
    return sa.text(f"SELECT * FROM {relation_from_sql} WHERE 1 = 0")


def _select_list(bound: BoundSpec, *, every_column: bool = False) -> str:
    star = [f"{SOURCE_ALIAS}.*"]
    items = star if every_column or not bound.columns_sql else list(bound.columns_sql)
    items.extend(f"({sql}) AS {alias}" for alias, sql in bound.expressions)
    if bound.cursor_sql is not None:
        items.append(f'{bound.cursor_sql} AS "{CURSOR_ALIAS}"')
    return ", ".join(items)


def _statement(
    bound: BoundSpec,
    conditions: Sequence[str],
    order: Sequence[str],
    *,
    every_column: bool = False,
) -> str:
    select = _select_list(bound, every_column=every_column)
    parts = [f"SELECT {select}", f"FROM {bound.from_sql}"]
    where = _where(bound, conditions)
    if where:
        parts.append(where)
    if order:
        parts.append("ORDER BY " + ", ".join(order))
    return "\n".join(parts)


def _where(bound: BoundSpec, conditions: Sequence[str]) -> str:
    """Return the WHERE clause: the user's where, then ``conditions``; or ''."""
    where = [f"({bound.where_sql})"] if bound.where_sql else []
    where.extend(conditions)
    return "WHERE " + " AND ".join(where) if where else ""


def describe_statement(bound: BoundSpec) -> TextClause:
    """Select no rows with every column and expression, where clause included."""
    return sa.text(_statement(bound, ["1 = 0"], [], every_column=True))


def window_statement(
    bound: BoundSpec, window: CursorWindow
) -> tuple[TextClause, dict[str, Any]]:
    """Select rows whose effective cursor is in the window, by cursor then key."""
    conditions, params = _window_conditions(bound, window)
    return sa.text(_statement(bound, conditions, _window_order(bound))), params


@dataclass(frozen=True)
class PageStart:
    """The position at which the next page of a window read starts.

    ``cursor`` and ``key`` are the effective cursor and key of a row as the
    warehouse returned them (``cursor`` is None when the spec has none, and
    ``key`` may be None for a NULL key). With ``inclusive`` the page starts
    at that row's position, else just after it.
    """

    cursor: Any
    key: Any
    inclusive: bool


def window_page_statement(
    bound: BoundSpec,
    window: CursorWindow,
    start: PageStart | None,
    limit: int,
    *,
    text_key: bool,
) -> tuple[TextClause, dict[str, Any]]:
    """Select at most ``limit`` window rows from ``start`` on, by cursor then key.

    DuckDB SQL. NULL keys sort last within a cursor value, and the condition
    keeps them. With ``text_key`` keys are sorted and compared as their
    UTF-8 bytes (``encode``), whatever collation the column has: that is
    the order and equality of Python strings, which the caller uses to find
    where a page ends.
    """
    conditions, params = _window_conditions(bound, window)
    key = f"encode({bound.key_sql})" if text_key else bound.key_sql
    if start is not None:
        conditions.append(_after(bound.cursor_sql, key, start, params, text_key))
    order = [] if bound.cursor_sql is None else [f"{bound.cursor_sql} NULLS LAST"]
    order.append(f"{key} NULLS LAST")
    sql = _statement(bound, conditions, order) + f"\nLIMIT {int(limit)}"
    return sa.text(sql), params


def window_range_statement(
    bound: BoundSpec, window: CursorWindow
) -> tuple[TextClause, dict[str, Any]]:
    """Select the lowest and highest effective cursor in the window."""
    assert bound.cursor_sql is not None
    conditions, params = _window_conditions(bound, window)
    cursor = bound.cursor_sql
    sql = (
        f'SELECT MIN({cursor}) AS "{MIN_ALIAS}", MAX({cursor}) AS "{MAX_ALIAS}" '
        f"FROM {bound.from_sql} {_where(bound, conditions)}"
    )
    return sa.text(sql), params


def _window_conditions(
    bound: BoundSpec, window: CursorWindow
) -> tuple[list[str], dict[str, Any]]:
    if bound.cursor_sql is None:
        return [], {}
    cursor = bound.cursor_sql
    conditions = [f"{cursor} IS NOT NULL"]
    params: dict[str, Any] = {}
    if window.lower is not None:
        conditions.append(f"{cursor} >= :lower")
        params["lower"] = window.lower
    if window.upper is not None:
        conditions.append(f"{cursor} < :upper")
        params["upper"] = window.upper
    return conditions, params


def _window_order(bound: BoundSpec) -> list[str]:
    if bound.cursor_sql is None:
        return [bound.key_sql]
    return [bound.cursor_sql, bound.key_sql]


def _after(
    cursor: str | None,
    key: str,
    start: PageStart,
    params: dict[str, Any],
    text_key: bool,
) -> str:
    """Return the condition for rows at or after ``start`` in page order."""
    if start.key is None:
        # NULL keys come last, so only NULL keys can follow (or equal) one.
        on_key = f"{key} IS NULL" if start.inclusive else "FALSE"
    else:
        params["start_key"] = start.key
        bound_key = "encode(:start_key)" if text_key else ":start_key"
        compare = ">=" if start.inclusive else ">"
        on_key = f"({key} {compare} {bound_key} OR {key} IS NULL)"
    if cursor is None:
        return on_key
    params["start_cursor"] = start.cursor
    return f"({cursor} > :start_cursor OR ({cursor} = :start_cursor AND {on_key}))"


def null_cursor_statement(bound: BoundSpec) -> TextClause:
    """Select rows whose effective cursor is NULL, by key."""
    assert bound.cursor_sql is not None
    return sa.text(_statement(bound, [f"{bound.cursor_sql} IS NULL"], [bound.key_sql]))


def keys_statement(
    bound: BoundSpec, *, compare_text: bool, list_parameter: bool = False
) -> TextClause:
    """Select rows whose key is in the parameter ``keys``.

    With ``compare_text`` the key column is compared as VARCHAR, for keys
    given as text whose column type has no exact Python counterpart.
    By default ``keys`` expands to one bind parameter per key. With
    ``list_parameter`` (DuckDB) it is bound as one list value. DuckDB turns
    ``key IN <list>`` into the same IN filter as for a written-out list,
    pruned by the table's min/max statistics. Binding one parameter instead
    of a thousand made these statements about 1.4 times faster (DuckDB 2.0.1).
    """
    key = f"CAST({bound.key_sql} AS VARCHAR)" if compare_text else bound.key_sql
    order = [bound.key_sql] + ([bound.cursor_sql] if bound.cursor_sql else [])
    statement = sa.text(_statement(bound, [f"{key} IN :keys"], order))
    return statement.bindparams(sa.bindparam("keys", expanding=not list_parameter))


def changed_keys_statement(
    bound: BoundSpec, since: Any
) -> tuple[TextClause, dict[str, Any]]:
    """Select distinct keys and their max effective cursor, for cursor >= ``since``."""
    assert bound.cursor_sql is not None
    cursor = bound.cursor_sql
    conditions = [f"({bound.where_sql})"] if bound.where_sql else []
    conditions.append(f"{cursor} IS NOT NULL")
    params: dict[str, Any] = {}
    if since is not None:
        conditions.append(f"{cursor} >= :since")
        params["since"] = since
    sql = "\n".join(
        [
            f'SELECT {bound.key_sql} AS "{KEY_ALIAS}", MAX({cursor}) AS "{MAX_ALIAS}"',
            f"FROM {bound.from_sql}",
            "WHERE " + " AND ".join(conditions),
            f"GROUP BY {bound.key_sql}",
            f"ORDER BY {bound.key_sql}",
        ]
    )
    return sa.text(sql), params


def max_cursor_statement(bound: BoundSpec) -> TextClause:
    """Select the max effective cursor of the relation, where clause applied."""
    assert bound.cursor_sql is not None
    where = f"WHERE ({bound.where_sql})" if bound.where_sql else ""
    return sa.text(
        f'SELECT MAX({bound.cursor_sql}) AS "{MAX_ALIAS}" FROM {bound.from_sql} {where}'
    )

"""Check a spec against the relation's real columns and turn it into SQL parts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from connector.source import query
from connector.source.columns import Column, timestamp_awareness
from connector.source.failures import permanent_error
from connector.source.identifiers import (
    check_alias,
    find_column,
    match_column,
    parse_table_name,
    quote,
    render_table_name,
)
from connector.source.spec import Relation, SourceSpec

#: A callable that reads the columns of ``FROM <sql>`` and raises a
#: SourceError naming ``label`` when the relation cannot be read.
ColumnReader = Callable[[str, str, str | None], list[Column]]


def relation_sql(relation: Relation, original: Relation) -> tuple[str, str, str | None]:
    """Return the FROM target, the label for messages, and the table name.

    ``relation`` has dbt models resolved already; ``original`` is the
    relation as the mapping wrote it, used for the label.
    """
    if relation.table is not None:
        parts = parse_table_name(relation.table)
        label = relation.table
        if original.model is not None:
            label = f"dbt model {original.model} ({relation.table})"
        return render_table_name(parts), label, relation.table
    if relation.query is not None:
        text = relation.query.strip().rstrip(";").strip()
        if not text:
            raise permanent_error("the query relation in the mapping is empty")
        return f"(\n{query.user_sql(text)}\n)", "the query relation", None
    raise permanent_error(
        f"dbt model {relation.model} was not resolved to a table; "
        "configure warehouse.dbt so the manifest can be read"
    )


def bind_spec(
    spec: SourceSpec, original: Relation, read_columns: ColumnReader
) -> query.BoundSpec:
    """Match the spec's column names to the relation and build its SQL parts.

    Raises:
        SourceError: the relation cannot be read, a named column is not in
            it, or a name or alias is not a valid identifier.
    """
    relation, label, table = relation_sql(spec.relation, original)
    from_sql = query.from_clause(relation)
    columns = read_columns(from_sql, label, table)
    names = [column.name for column in columns]
    types = {column.name: column.type_name for column in columns}

    key = match_column(spec.key, names, label)
    cursor_sql, cursor_type = None, None
    cursor_types: tuple[str, ...] = ()
    if spec.cursor is not None:
        cursor = match_column(spec.cursor, names, label)
        cursor_sql, cursor_type = _qualified(cursor), types[cursor]
        cursor_types = (types[cursor],)
        if spec.cursor_fallback is not None:
            fallback = match_column(spec.cursor_fallback, names, label)
            cursor_sql = f"COALESCE({cursor_sql}, {_qualified(fallback)})"
            cursor_types += (types[fallback],)
    elif spec.cursor_fallback is not None:
        raise permanent_error(
            f"{label} has cursor_fallback {spec.cursor_fallback} but no cursor; "
            "set cursor in the mapping"
        )

    expressions = tuple(
        (quote(check_alias(alias).lower()), query.user_sql(sql))
        for alias, sql in spec.expressions
    )
    columns_sql: tuple[str, ...] = ()
    if spec.columns:
        found = (find_column(name, names, label) for name in spec.columns)
        # A missing column is left out here; the mapper names it with its
        # mapping line when the first row arrives without it.
        selected = [key, *(name for name in found if name is not None)]
        columns_sql = tuple(_qualified(name) for name in dict.fromkeys(selected))
    return query.BoundSpec(
        label=label,
        from_sql=from_sql,
        key_sql=_qualified(key),
        key_type=types[key],
        cursor_sql=cursor_sql,
        cursor_type=cursor_type,
        where_sql=query.user_sql(spec.where) if spec.where else None,
        expressions=expressions,
        key_name=key.lower(),
        cursor_types=cursor_types,
        columns_sql=columns_sql,
    )


def _qualified(column: str) -> str:
    return f"{query.SOURCE_ALIAS}.{quote(column)}"


def check_cursor_bound(bound: query.BoundSpec, value: Any) -> None:
    """Check that a datetime bound has the zone-awareness of the cursor column.

    Raises:
        SourceError: an aware bound meets a naive timestamp column, or the
            reverse. The warehouse would convert one through its session
            time zone, which shifts the window.
    """
    if bound.cursor_type is None:
        return
    column_aware = timestamp_awareness(bound.cursor_type)
    if column_aware and type(value) is date:
        # A date against a time-zone-aware column is midnight in the session
        # time zone, which differs between machines.
        raise permanent_error(
            f"the cursor of {bound.label} has type {bound.cursor_type}, but the "
            f"bound {value.isoformat()} is a date, which the warehouse reads as "
            "midnight in its session time zone. Give --since, --until or "
            "state set --cursor as a timestamp with a UTC offset, such as "
            f"{value.isoformat()}T00:00:00+00:00."
        )
    if not isinstance(value, datetime):
        return
    value_aware = value.utcoffset() is not None
    if column_aware is None or column_aware == value_aware:
        return
    kind = "time-zone-aware" if value_aware else "naive"
    fix = (
        "a UTC offset, such as 2024-01-31T00:00:00+00:00"
        if column_aware
        else "no UTC offset, such as 2024-01-31T00:00:00"
    )
    raise permanent_error(
        f"the cursor of {bound.label} has type {bound.cursor_type}, but the "
        f"bound {value.isoformat()} is a {kind} datetime, and comparing them "
        "would shift by the session time zone. Give --since and --until with "
        f"{fix}. If the bound is the stored high-water mark, the cursor "
        "column's type changed since it was stored: reset the sync state."
    )

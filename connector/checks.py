"""Check a mapping against the live warehouse schema before anything is sent."""

from __future__ import annotations

import difflib
from typing import Any

from connector.errors import MappingError, SourceError
from connector.mapping import OrderMapper

# Type names, lowercased, that can feed a cursor: timestamps, dates, integers.
_CURSOR_TYPES = ("timestamp", "date", "int", "number", "numeric", "decimal", "datetime")


def check_columns(warehouse: Any, mapper: OrderMapper, mapping_path: str) -> list[str]:
    """Return report lines; raise MappingError listing every problem at once."""
    problems: list[str] = []
    lines: list[str] = []
    specs = {"orders": mapper.orders_spec, **mapper.child_specs}

    for source, spec in specs.items():
        try:
            columns = warehouse.describe(spec)
        except SourceError as exc:
            problems.append(f"{source}: {exc}")
            continue
        lines.append(f"{source}: {len(columns)} columns found")
        problems.extend(_missing(source, columns, mapper, mapping_path))
        problems.extend(_cursor_type(source, spec, columns))

    if problems:
        raise MappingError(
            f"{len(problems)} problem(s) found:\n  " + "\n  ".join(problems),
            path=mapping_path,
        )
    return lines


def _missing(
    source: str, columns: dict[str, str], mapper: OrderMapper, mapping_path: str
) -> list[str]:
    problems = []
    for column, line in mapper.referenced_columns().get(source, []):
        if column.lower() in columns:
            continue
        near = difflib.get_close_matches(column.lower(), list(columns), n=3)
        hint = f" Did you mean {', '.join(near)}?" if near else ""
        problems.append(
            f"{mapping_path}, line {line}: column {column} is not in {source}."
            f"{hint} Check the spelling or add it to the query."
        )
    return problems


def _cursor_type(source: str, spec: Any, columns: dict[str, str]) -> list[str]:
    if spec.cursor is None or spec.cursor.lower() not in columns:
        return []
    type_name = columns[spec.cursor.lower()].lower()
    if any(word in type_name for word in _CURSOR_TYPES):
        return []
    return [
        f"{source}: cursor column {spec.cursor} has type {type_name}; use a "
        "timestamp, date or integer column"
    ]

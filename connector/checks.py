"""Check a mapping against the live warehouse schema before anything is sent."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from connector.errors import SourceError
from connector.mapping import OrderMapper
from connector.source import SourceSpec

# Substrings of type names, lowercased, that can feed a cursor: timestamps,
# dates and integers (NUMBER and DECIMAL with scale 0 included).
_CURSOR_TYPES = ("timestamp", "date", "int", "number", "numeric", "decimal")


@dataclass
class ColumnReport:
    """Result of :func:`check_columns`: report lines and every problem found."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def check_columns(warehouse: Any, mapper: OrderMapper) -> ColumnReport:
    """Describe each source of the mapping and compare it with the mapping.

    Every source is checked even after a problem, so one pass lists every
    missing column with its mapping line, and every source that cannot be
    read, with the warehouse's reason.
    """
    report = ColumnReport()
    specs = {"orders": mapper.orders_spec, **mapper.child_specs}
    referenced = mapper.referenced_columns()

    for source, spec in specs.items():
        try:
            columns = warehouse.describe(spec)
        except SourceError as exc:
            report.problems.append(f"{source}: {exc}")
            continue
        report.lines.append(f"{source}: {len(columns)} columns found")
        report.problems.extend(_missing(source, columns, referenced.get(source, [])))
        report.problems.extend(_cursor_type(source, spec, columns))
    return report


def _missing(
    source: str, columns: dict[str, str], referenced: list[tuple[str, int]]
) -> list[str]:
    problems = []
    for column, line in referenced:
        if column.lower() in columns:
            continue
        near = difflib.get_close_matches(column.lower(), list(columns), n=3)
        hint = f" Did you mean {', '.join(near)}?" if near else ""
        problems.append(
            f"line {line}: column {column} is not in {source}.{hint} "
            "Check the spelling, or add the column to the query."
        )
    return problems


def _cursor_type(source: str, spec: SourceSpec, columns: dict[str, str]) -> list[str]:
    problems = []
    for column in (spec.cursor, spec.cursor_fallback):
        if column is None or column.lower() not in columns:
            continue
        type_name = columns[column.lower()].lower()
        if not any(word in type_name for word in _CURSOR_TYPES):
            problems.append(
                f"{source}: cursor column {column} has type {type_name}; use a "
                "timestamp, date or integer column, or cast it in a query"
            )
    return problems

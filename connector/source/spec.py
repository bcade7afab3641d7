"""What to read from the warehouse: a relation, its key, cursor and filters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Relation:
    """Where rows come from; exactly one of the three fields is set.

    ``table`` is ``orders``, ``schema.orders`` or ``db.schema.orders``.
    ``query`` is a SELECT statement, read as a subquery.
    ``model`` is a dbt model name, resolved to a table through the manifest.
    """

    table: str | None = None
    query: str | None = None
    model: str | None = None

    def __post_init__(self) -> None:
        set_fields = [v for v in (self.table, self.query, self.model) if v is not None]
        if len(set_fields) != 1:
            raise ValueError("set exactly one of table, query or model")


@dataclass(frozen=True)
class SourceSpec:
    """A relation to read, with the columns that drive incremental reads.

    ``key`` is the order key column (for orders) or the parent key column
    (for child rows such as products and refunds). Rows are filtered on
    ``COALESCE(cursor, cursor_fallback)``. ``where`` is an extra SQL
    predicate written by the user. ``expressions`` are ``(alias, SQL)`` pairs
    added to the SELECT list. ``columns`` names the columns the rows must
    carry besides key and cursor; empty reads every column. Names not in
    the relation are left out of the read, so that the mapper can report
    them with their mapping lines.
    """

    relation: Relation
    key: str
    cursor: str | None = None
    cursor_fallback: str | None = None
    where: str | None = None
    expressions: tuple[tuple[str, str], ...] = ()
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class CursorWindow:
    """Cursor bounds of one read: ``lower <= cursor < upper``.

    ``None`` on either side leaves that side open.
    """

    lower: Any = None
    upper: Any = None

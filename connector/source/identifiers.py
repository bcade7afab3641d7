"""Table and column names from the mapping: validation, matching, quoting.

Only two spellings are accepted for each name part: a plain identifier
(``order_id``, ``ORDERS``) or a double-quoted one (``"OrderId"``, with ``""``
for a literal quote). Plain table names are written into SQL unquoted, so
each warehouse folds their case its own way: Snowflake to upper case,
PostgreSQL to lower case. Quoted names are written quoted and match exactly.

Column names are matched against the columns the relation really has, case
insensitively unless quoted, and then written quoted with the real name.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from connector.errors import SourceError
from connector.source.failures import permanent_error

_PLAIN = r"[A-Za-z_][A-Za-z0-9_$]*"
_QUOTED = r'"(?:[^"]|"")+"'
_PART = rf"(?:{_PLAIN}|{_QUOTED})"
_PLAIN_RE = re.compile(rf"{_PLAIN}\Z")
_PART_RE = re.compile(rf"{_PART}\Z")
_TABLE_RE = re.compile(rf"({_PART})(?:\.({_PART}))?(?:\.({_PART}))?\Z")


@dataclass(frozen=True)
class Identifier:
    """One name part: its text without quotes and whether it was quoted."""

    name: str
    quoted: bool

    def render(self) -> str:
        """Write the part as SQL: plain parts unquoted, quoted parts quoted."""
        if not self.quoted:
            return self.name
        return quote(self.name)


def quote(name: str) -> str:
    """Quote ``name`` as a SQL identifier; the result matches it exactly."""
    return '"' + name.replace('"', '""') + '"'


def _parse_part(text: str) -> Identifier:
    if text.startswith('"'):
        return Identifier(text[1:-1].replace('""', '"'), quoted=True)
    return Identifier(text, quoted=False)


def parse_table_name(text: str) -> tuple[Identifier, ...]:
    """Split ``table``, ``schema.table`` or ``db.schema.table`` into parts.

    Raises:
        SourceError: the name is not 1 to 3 plain or double-quoted parts.
    """
    match = _TABLE_RE.match(text.strip())
    if match is None:
        raise _invalid_name_error(text, "table")
    return tuple(_parse_part(part) for part in match.groups() if part is not None)


def render_table_name(parts: Sequence[Identifier]) -> str:
    """Write a parsed table name back as SQL."""
    return ".".join(part.render() for part in parts)


def parse_column_name(text: str) -> Identifier:
    """Parse a column name written in the mapping.

    Raises:
        SourceError: the name is neither a plain nor a double-quoted identifier.
    """
    if _PART_RE.match(text.strip()) is None:
        raise _invalid_name_error(text, "column")
    return _parse_part(text.strip())


def check_alias(alias: str) -> str:
    """Return ``alias`` if it is a plain identifier.

    Raises:
        SourceError: the alias contains other characters.
    """
    if _PLAIN_RE.match(alias) is None:
        raise _invalid_name_error(alias, "expression alias")
    return alias


def _invalid_name_error(text: str, kind: str) -> SourceError:
    return permanent_error(
        f"{kind} name {text!r} is not a valid identifier; write letters, digits "
        'and underscores (order_id), or a double-quoted name ("Order Id"), '
        "with parts separated by dots"
    )


def match_column(requested: str, columns: Sequence[str], relation: str) -> str:
    """Return the real name of the column the mapping names ``requested``.

    An exact match wins. Otherwise a plain name matches a column whose name
    differs only in letter case, when exactly one does.

    Raises:
        SourceError: no column matches, or several differ only in case.
    """
    found = find_column(requested, columns, relation)
    if found is None:
        raise column_not_found(requested, columns, relation)
    return found


def find_column(requested: str, columns: Sequence[str], relation: str) -> str | None:
    """Return the real name of the column ``requested`` names, or None.

    Matches as :func:`match_column` does.

    Raises:
        SourceError: several columns differ from the name only in case.
    """
    identifier = parse_column_name(requested)
    if identifier.name in columns:
        return identifier.name
    if identifier.quoted:
        return None

    folded = [name for name in columns if name.lower() == identifier.name.lower()]
    if len(folded) <= 1:
        return folded[0] if folded else None
    spelled = ", ".join(quote(name) for name in folded)
    raise permanent_error(
        f"column {requested} is ambiguous in {relation}: {spelled} differ only in "
        "letter case; write the exact name in double quotes in the mapping"
    )


def column_not_found(
    requested: str, columns: Sequence[str], relation: str
) -> SourceError:
    """Build the error for a missing column, naming the closest columns."""
    near = close_names(requested.strip('"'), columns)
    hint = f" Did you mean {', '.join(near)}?" if near else ""
    return permanent_error(
        f"column {requested} not found in {relation}.{hint} Check the spelling in "
        f"the mapping; {relation} has {len(columns)} columns."
    )


def close_names(requested: str, names: Sequence[str], limit: int = 3) -> list[str]:
    """Return up to ``limit`` of ``names`` closest to ``requested``, any case."""
    by_lower = {name.lower(): name for name in names}
    near = difflib.get_close_matches(
        requested.lower(), list(by_lower), n=limit, cutoff=0.6
    )
    return [by_lower[name] for name in near]

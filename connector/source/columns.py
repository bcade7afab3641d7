"""Column types from a DBAPI cursor description, and rows turned into dicts.

Drivers already return ``Decimal`` for DECIMAL/NUMERIC, ``int`` for integer
columns (DuckDB HUGEINT included), naive or aware ``datetime`` matching the
column type, and Python lists and dicts for DuckDB LIST/STRUCT/JSON and
PostgreSQL arrays and json/jsonb. The exceptions handled here are
Snowflake's VARIANT, OBJECT and ARRAY values, which arrive as JSON text and
are parsed (decimals as ``Decimal``, so no float rounding), and DuckDB's JSON
values read straight from its cursor, parsed as SQLAlchemy would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Row = dict[str, Any]
RowBuilder = Callable[[Sequence[Any]], Row]
Converter = Callable[[Any], Any]

_SNOWFLAKE_JSON_TYPES = frozenset({"VARIANT", "OBJECT", "ARRAY", "MAP"})
_SNOWFLAKE_RENAMES = {"REAL": "FLOAT", "TEXT": "VARCHAR"}
_INTEGER_TYPE = re.compile(
    r"^(u?(tiny|small|big|huge)?int(eger)?|int[248]|serial|bigserial|"
    r"(number|numeric|decimal)\(\d+,\s*0\))(\(\d+\))?$"
)
_TEXT_TYPE = re.compile(
    r"^(varchar|text|string|char|character|bpchar|character varying)\b"
)
_DECIMAL_TYPE = re.compile(r"^(number|numeric|decimal)\b")
_AWARE_TIMESTAMP = re.compile(r"timestamptz|with time zone|timestamp_tz|timestamp_ltz")
_NAIVE_TIMESTAMP = re.compile(
    r"^(timestamp(\(\d\))?|timestamp without time zone|timestamp_ntz(\(\d\))?|"
    r"timestamp_(s|ms|ns)|datetime)$"
)


@dataclass(frozen=True)
class Column:
    """A result column: its real name and the warehouse's name of its type."""

    name: str
    type_name: str


def describe_columns(
    dialect: str, description: Sequence[Sequence[Any]]
) -> list[Column]:
    """Return the columns of a cursor description with readable type names."""
    return [Column(str(entry[0]), _type_name(dialect, entry)) for entry in description]


def _type_name(dialect: str, entry: Sequence[Any]) -> str:
    if dialect == "postgresql":
        # psycopg 3 columns render their type as PostgreSQL writes it.
        return str(getattr(entry, "type_display", None) or entry[1])
    if dialect == "snowflake":
        return _snowflake_type_name(entry)
    return str(entry[1])


def _snowflake_type_name(entry: Sequence[Any]) -> str:
    from snowflake.connector.constants import FIELD_ID_TO_NAME

    name = FIELD_ID_TO_NAME.get(entry[1], str(entry[1]))
    if name == "FIXED":
        return f"NUMBER({entry[4]},{entry[5]})"
    return _SNOWFLAKE_RENAMES.get(name, name)


def row_builder(
    dialect: str, description: Sequence[Sequence[Any]], *, raw_json: bool = False
) -> RowBuilder:
    """Return a function that turns one result row into a dict.

    Keys are the lowercased column names. On Snowflake, JSON-typed columns
    are parsed and NUMBER(p,0) values come back as ``int``. Set ``raw_json``
    for DuckDB rows taken from the driver's cursor, where JSON columns are
    still text (SQLAlchemy's result parses them otherwise).
    """
    names = [str(entry[0]).lower() for entry in description]
    converters: dict[int, Converter] = {}
    if dialect == "snowflake":
        for index, column in enumerate(describe_columns(dialect, description)):
            converter = _snowflake_converter(column.type_name)
            if converter is not None:
                converters[index] = converter
    elif dialect == "duckdb" and raw_json:
        for index, entry in enumerate(description):
            if str(entry[1]).upper() == "JSON":
                converters[index] = _parse_duckdb_json
    if not converters:
        return lambda row: dict(zip(names, row, strict=True))

    def _build(row: Sequence[Any]) -> Row:
        values = list(row)
        for index, convert in converters.items():
            if values[index] is not None:
                values[index] = convert(values[index])
        return dict(zip(names, values, strict=True))

    return _build


def _snowflake_converter(type_name: str) -> Converter | None:
    if type_name in _SNOWFLAKE_JSON_TYPES:
        return _parse_json_text
    if type_name.startswith("NUMBER(") and type_name.endswith(",0)"):
        return _integral_to_int
    return None


def _parse_json_text(value: Any) -> Any:
    if isinstance(value, str):
        return json.loads(value, parse_float=Decimal)
    return value


def _parse_duckdb_json(value: Any) -> Any:
    # Plain json.loads, as SQLAlchemy's JSON type parses the same column,
    # so a value reads the same through either path.
    return json.loads(value) if isinstance(value, str) else value


def _integral_to_int(value: Any) -> Any:
    # The connector already returns int for scale 0; a Decimal could come
    # from other result formats and is converted without loss.
    if isinstance(value, Decimal):
        return int(value)
    return value


def value_kind(type_name: str) -> str | None:
    """Classify a column type as ``integer``, ``decimal`` or ``text``, else None."""
    name = type_name.strip().lower()
    if _INTEGER_TYPE.match(name):
        return "integer"
    if _DECIMAL_TYPE.match(name):
        return "decimal"
    if _TEXT_TYPE.match(name):
        return "text"
    return None


def timestamp_awareness(type_name: str) -> bool | None:
    """Return True for timestamp-with-zone types, False for naive ones, else None."""
    name = type_name.strip().lower()
    if _AWARE_TIMESTAMP.search(name):
        return True
    if _NAIVE_TIMESTAMP.match(name):
        return False
    return None

"""pydantic models of the mapping file. Every block forbids unknown keys.

Column names are stored lowercased because warehouses differ in how they
fold unquoted identifiers (Snowflake to upper case, PostgreSQL to lower).
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, StrictBool, field_validator, model_validator

Unit = Literal["cents", "major"]
ValueType = Literal["string", "number", "integer", "boolean", "timestamp", "date"]

_REGION = re.compile(r"^[A-Za-z]{2,3}$")


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _column_name(value: str | None) -> str | None:
    if value is None:
        return None
    name = value.strip().lower()
    if not name:
        raise ValueError("a column name must not be empty")
    return name


def check_timezone(value: str | None) -> str | None:
    """Return ``value`` if it is an IANA time zone name, else raise ValueError."""
    if value is None:
        return None
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}. Use an IANA name such as "
            "America/New_York or UTC"
        ) from None
    return value


class FieldRule(BaseModel):
    """Rule giving one Northbeam field its value: a column, a constant or SQL.

    A bare string in the YAML is shorthand for ``{column: <string>}``.
    ``default`` replaces NULL and blank values. ``values`` translates source
    values, compared as text, before conversion.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str | None = None
    value: Any = None
    sql: str | None = None
    unit: Unit | None = None
    timezone: str | None = None
    split: str | None = None
    type: ValueType | None = None
    default: Any = None
    values: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"column": data}
        if not isinstance(data, dict | FieldRule):
            raise ValueError(
                "a field rule must be a column name or a mapping such as "
                "{column: name}, {value: USD} or {sql: ...}"
            )
        if isinstance(data, dict) and isinstance(data.get("values"), dict):
            data = dict(data)
            data["values"] = {_value_key(k): v for k, v in data["values"].items()}
        return data

    @field_validator("column")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return _column_name(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return check_timezone(value)

    @field_validator("split")
    @classmethod
    def _separator(cls, value: str | None) -> str | None:
        if value is not None and value == "":
            raise ValueError("split must be a non-empty separator such as ','")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> FieldRule:
        given = [
            name
            for name in ("column", "value", "sql")
            if name in self.model_fields_set and getattr(self, name) is not None
        ]
        if "value" in self.model_fields_set and self.value is None:
            raise ValueError(
                "value: is null. Leave the field out of the mapping to send "
                "nothing, or give a constant"
            )
        if len(given) != 1:
            found = ", ".join(given) if given else "none of them"
            raise ValueError(
                f"a field rule needs exactly one of column, value or sql "
                f"(found {found}). Keep one"
            )
        return self

    @property
    def origin(self) -> str:
        """Where values come from, for messages: column, constant or SQL."""
        if self.column is not None:
            return "column"
        return "sql" if self.sql is not None else "value"


def _value_key(key: Any) -> str:
    """Return the text form used to match ``values:`` keys and source values."""
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


class OrdersBlock(_Block):
    """Source of the orders: one relation with its key and cursor."""

    table: str | None = None
    query: str | None = None
    model: str | None = None
    key: str
    cursor: str | None = None
    cursor_fallback: str | None = None
    where: str | None = None

    @field_validator("key", "cursor", "cursor_fallback")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return _column_name(value)

    @model_validator(mode="after")
    def _one_relation(self) -> OrdersBlock:
        given = [n for n in ("table", "query", "model") if getattr(self, n)]
        if len(given) != 1:
            raise ValueError(
                "orders needs exactly one of table, query or model "
                f"(found {', '.join(given) or 'none'}). Keep one"
            )
        if self.cursor_fallback is not None and self.cursor is None:
            raise ValueError("cursor_fallback needs a cursor. Set orders.cursor too")
        return self


class ChildBlock(_Block):
    """Products or refunds: a relation joined on ``key``, or a JSON column."""

    table: str | None = None
    query: str | None = None
    model: str | None = None
    column: str | None = None
    key: str | None = None
    cursor: str | None = None
    cursor_fallback: str | None = None
    where: str | None = None
    fields: dict[str, FieldRule]

    @field_validator("column", "key", "cursor", "cursor_fallback")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return _column_name(value)

    @model_validator(mode="after")
    def _one_source(self) -> ChildBlock:
        given = [n for n in ("table", "query", "model", "column") if getattr(self, n)]
        if len(given) != 1:
            raise ValueError(
                "needs exactly one of table, query, model or column "
                f"(found {', '.join(given) or 'none'}). Keep one"
            )
        if self.column is not None:
            extra = [
                n
                for n in ("key", "cursor", "cursor_fallback", "where")
                if getattr(self, n)
            ]
            if extra:
                raise ValueError(
                    f"{', '.join(extra)} cannot be used with column: (the items "
                    "come from the order row itself). Remove them"
                )
        elif self.key is None:
            raise ValueError(
                "key is missing. Set it to the column that contains the order key"
            )
        if self.cursor_fallback is not None and self.cursor is None:
            raise ValueError("cursor_fallback needs a cursor. Set cursor too")
        return self

    @property
    def is_column(self) -> bool:
        """Whether the items come from a JSON or array column of the order row."""
        return self.column is not None


class IdentityBlock(_Block):
    """Customer email and phone, raw or pre-hashed, and how to send them."""

    email: FieldRule | None = None
    email_sha256: FieldRule | None = None
    phone: FieldRule | None = None
    phone_sha256: FieldRule | None = None
    phone_region: FieldRule | None = None
    default_region: str | None = "US"
    send_raw_email: StrictBool = False
    send_raw_phone: StrictBool = False

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _REGION.match(value):
            raise ValueError(
                "default_region must be an ISO 3166-1 alpha-2 or alpha-3 code "
                "such as US or USA, or null"
            )
        return value.upper()


class MappingFile(_Block):
    """The whole mapping file."""

    version: Literal[1] = 1
    orders: OrdersBlock
    timezone: str = "UTC"
    fields: dict[str, FieldRule]
    identity: IdentityBlock = IdentityBlock()
    shipping_address: dict[str, FieldRule] | None = None
    products: ChildBlock | None = None
    refunds: ChildBlock | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        check_timezone(value)
        return value

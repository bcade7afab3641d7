"""Compile one field rule of the mapping into a function of a row.

Compiling happens once per run: constants, defaults and ``values:``
translations are converted up front, so the per-row function only reads a
dict key and converts one value.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from connector.mapping import convert as cv
from connector.mapping.model import FieldRule

Row = Mapping[str, Any]
Extractor = Callable[[Row], Any]

_SIMPLE: dict[str, cv.Converter] = {
    "id": cv.to_id,
    "text": cv.to_text,
    "currency": cv.to_currency,
    "number": cv.to_number,
    "bool": cv.to_bool,
    "country": cv.to_country,
    "region": cv.to_region,
    "aliases": cv.to_aliases,
    "email": cv.to_email,
    "phone": cv.to_phone,
    "sha256": cv.to_sha256,
}

#: ``type:`` values that make sense for each kind of field.
_TYPES_FOR_KIND: dict[str, frozenset[str]] = {
    "money": frozenset({"number", "integer", "string"}),
    "number": frozenset({"number", "integer", "string"}),
    "id": frozenset({"string", "integer", "number"}),
    "text": frozenset({"string", "number", "integer"}),
    "timestamp": frozenset({"timestamp", "date", "string"}),
    "bool": frozenset({"boolean", "integer", "string"}),
    "phone": frozenset({"string", "integer"}),
}

_MISSING = object()


class RuleError(ValueError):
    """Raised when a field rule cannot be compiled, with the rule's ``line``."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A field rule ready to apply to rows.

    ``extract(row)`` returns the converted value, or None for NULL, and
    raises :class:`connector.mapping.convert.ConversionError` for a value it
    cannot convert. ``origin`` describes the source for messages, for
    example ``column order_total``.

    A rule that only reads one row key and converts its value, without a
    default or ``values:`` table, also sets ``key`` and ``convert``. For a
    non-NULL value, ``extract(row)`` is then ``convert(row[key])``, which
    the mapper's per-field loop applies inline to save a call per field.
    """

    name: str
    origin: str
    line: int
    required: bool
    extract: Extractor
    key: str = ""
    convert: cv.Converter | None = None


def compile_rule(
    rule: FieldRule,
    *,
    name: str,
    kind: str,
    line: int,
    zone: str,
    label: str | None = None,
    required: bool = False,
    alias: str | None = None,
) -> CompiledRule:
    """Compile ``rule`` for field ``name`` of ``kind``.

    ``label`` names the rule in messages (``products.fields.price``).
    ``alias`` is the row key of a ``sql:`` rule's expression. ``zone`` is the
    mapping's time zone, used unless the rule sets its own.

    Raises:
        RuleError: the rule does not fit the field, or its constant,
            default or ``values:`` target cannot be converted.
    """
    label = label or name
    _check_options(rule, label=label, kind=kind, line=line)
    converter = _converter(rule, kind, zone)

    if rule.origin == "value":
        constant = _convert_constant(converter, rule.value, label, "value", line)
        if constant is None:
            raise RuleError(line, f"{label}: the value: is blank. Give a constant.")
        origin = f"the value: on line {line}"
        return CompiledRule(name, origin, line, required, lambda row: constant)

    key = rule.column if rule.column is not None else alias
    if key is None:
        raise RuleError(line, f"{label}: a sql: rule needs an expression alias")
    default = _convert_constant(converter, rule.default, label, "default", line)
    table = _translation(rule, converter, label, line)
    if rule.column is not None:
        origin = f"column {rule.column}"
    else:
        origin = f"the sql: expression on line {line}"
    extract = _extractor(key, converter, default, table)
    if default is None and table is None:
        return CompiledRule(name, origin, line, required, extract, key, converter)
    return CompiledRule(name, origin, line, required, extract)


def _check_options(rule: FieldRule, *, label: str, kind: str, line: int) -> None:
    if rule.unit is not None and kind != "money":
        raise RuleError(
            line, f"{label}: unit applies only to money fields. Remove unit."
        )
    if rule.split is not None and kind != "list":
        raise RuleError(
            line,
            f"{label}: split applies only to list fields (discount_codes, "
            "order_tags). Remove split.",
        )
    if rule.timezone is not None and kind != "timestamp":
        raise RuleError(
            line, f"{label}: timezone applies only to timestamps. Remove timezone."
        )
    if rule.type is not None:
        allowed = _TYPES_FOR_KIND.get(kind, frozenset({"string"}))
        if rule.type not in allowed:
            raise RuleError(
                line,
                f"{label}: type {rule.type} does not fit this field. Use one of "
                f"{', '.join(sorted(allowed))}, or remove type.",
            )


def _converter(rule: FieldRule, kind: str, zone: str) -> cv.Converter:
    base: cv.Converter
    if kind == "money":
        base = cv.cents_to_major if rule.unit == "cents" else cv.to_decimal
    elif kind == "timestamp":
        tz = zoneinfo.ZoneInfo(rule.timezone or zone)
        base = cv.timestamp_converter(tz, date_only=rule.type == "date")
    elif kind == "list":
        base = cv.list_converter(rule.split)
    else:
        base = _SIMPLE[kind]

    coerce = _coercer(rule.type)
    if coerce is None:
        return base

    def coerce_then_convert(value: Any) -> Any:
        coerced = coerce(value)
        return None if coerced is None else base(coerced)

    return coerce_then_convert


def _coercer(value_type: str | None) -> cv.Converter | None:
    if value_type == "string":
        return cv.to_text
    if value_type == "number":
        return cv.to_decimal
    if value_type == "integer":
        return _to_integer
    if value_type == "boolean":
        return cv.to_bool
    if value_type == "timestamp":
        return _to_datetime
    return None


def _to_integer(value: Any) -> int | None:
    number = cv.to_decimal(value)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise cv.ConversionError("is a number with a fractional part, not an integer")
    return int(number)


def _to_datetime(value: Any) -> datetime | date | None:
    if isinstance(value, datetime | date):
        return value
    if type(value) is str:
        text = value.strip()
        if not text:
            return None
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            raise cv.ConversionError(
                "is text that is not an ISO-8601 timestamp"
            ) from None
    raise cv.ConversionError(f"is a {type(value).__name__}, not a timestamp")


def _convert_constant(
    converter: cv.Converter, value: Any, name: str, what: str, line: int
) -> Any:
    if value is None:
        return None
    try:
        return converter(value)
    except cv.ConversionError as exc:
        raise RuleError(
            line, f"{name}: the {what}: {exc}. Write a valid constant."
        ) from None


def _translation(
    rule: FieldRule, converter: cv.Converter, name: str, line: int
) -> dict[str, Any] | None:
    if rule.values is None:
        return None
    return {
        key: _convert_constant(converter, target, name, "values: entry", line)
        for key, target in rule.values.items()
    }


def _match_key(raw: Any) -> str:
    if type(raw) is str:
        return raw.strip()
    if type(raw) is bool:
        return "true" if raw else "false"
    if type(raw) is Decimal and raw.is_finite() and raw == raw.to_integral_value():
        return str(int(raw))
    return str(raw)


def _extractor(
    key: str, converter: cv.Converter, default: Any, table: dict[str, Any] | None
) -> Extractor:
    if table is None and default is None:

        def extract_plain(row: Row) -> Any:
            raw = row.get(key)
            return None if raw is None else converter(raw)

        return extract_plain

    if table is None:

        def extract(row: Row) -> Any:
            raw = row.get(key)
            if raw is None:
                return default
            value = converter(raw)
            return default if value is None else value

        return extract

    def extract_translated(row: Row) -> Any:
        raw = row.get(key)
        if raw is None:
            return default
        hit = table.get(_match_key(raw), _MISSING)
        if hit is not _MISSING:
            return default if hit is None else hit
        value = converter(raw)
        return default if value is None else value

    return extract_translated

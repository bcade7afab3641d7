"""Conversions from warehouse values to Northbeam field values.

Every converter takes one non-NULL value and returns the converted value, or
``None`` when the value is blank (an empty string or an empty list), which
the mapper treats like NULL. A value that cannot be converted raises
:class:`ConversionError`, whose message names the problem but never the
value, because values may be personal data.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from datetime import date, datetime, tzinfo
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, InvalidOperation
from typing import Any

from connector.transform.countries import ALPHA2_TO_ALPHA3, ALPHA3_TO_ALPHA2

Converter = Callable[[Any], Any]

#: Integers up to this size are exact in a binary float. Larger float ids have
#: lost digits.
_FLOAT_EXACT_LIMIT = 2**53
_TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
_FALSE_WORDS = frozenset({"false", "f", "no", "n", "0"})


#: A context that neither rounds nor overflows, for exact exponent shifts.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


class ConversionError(ValueError):
    """Raised for a value that cannot be converted; never contains the value."""


def _type_name(value: Any) -> str:
    return type(value).__name__


def to_decimal(value: Any) -> Decimal | None:
    """Convert an int, Decimal, float or numeric string to a finite Decimal.

    Floats go through their shortest text form, so ``19.99`` stays 19.99.
    """
    kind = type(value)
    number: Decimal
    if kind is int:
        return Decimal(value)
    if kind is Decimal:
        number = value
    elif kind is float:
        if not math.isfinite(value):
            raise ConversionError("is not a finite number")
        return Decimal(repr(value))
    elif kind is str:
        text = value.strip()
        if not text:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ConversionError("is text that is not a number") from None
    elif isinstance(value, int) and not isinstance(value, bool):
        return Decimal(int(value))
    else:
        raise ConversionError(f"is a {_type_name(value)}, not a number")
    if not number.is_finite():
        raise ConversionError("is not a finite number")
    return number


def cents_to_major(value: Any) -> Decimal | None:
    """Convert an amount in minor units (cents) to major units, exactly."""
    number = to_decimal(value)
    if number is None:
        return None
    # scaleb only shifts the exponent. Under the default context it would
    # round to 28 digits, so it runs under a context that never rounds.
    return number.scaleb(-2, _EXACT)


def to_number(value: Any) -> int | Decimal | None:
    """Convert a count: whole numbers become int, others stay Decimal."""
    if type(value) is int:
        return value
    number = to_decimal(value)
    if number is None:
        return None
    if number == number.to_integral_value():
        return int(number)
    return number


def to_id(value: Any) -> str | None:
    """Convert an identifier to text, digit for digit.

    Integers and whole Decimals (NUMBER(38,0) columns) keep every digit.
    Floats are accepted only when whole and below 2**53, because a larger
    float has already lost digits in the warehouse driver.
    """
    kind = type(value)
    if kind is str:
        return value.strip() or None
    if kind is int:
        return str(value)
    if kind is Decimal:
        if not value.is_finite() or value != value.to_integral_value():
            raise ConversionError("is a number with a fractional part, not an id")
        return str(int(value))
    if kind is float:
        if value.is_integer() and abs(value) < _FLOAT_EXACT_LIMIT:
            return str(int(value))
        raise ConversionError(
            "is a float that cannot hold this id exactly. Cast the column to "
            "an integer or text type"
        )
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(int(value))
    raise ConversionError(f"is a {_type_name(value)}, not an id")


def to_text(value: Any) -> str | None:
    """Convert a name or other free text, writing numbers out in full."""
    kind = type(value)
    if kind is str:
        return value.strip() or None
    if kind is int:
        return str(value)
    if kind is Decimal:
        return _decimal_text(value)
    if kind is float:
        if value.is_integer() and abs(value) < _FLOAT_EXACT_LIMIT:
            return str(int(value))
        return repr(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    raise ConversionError(f"is a {_type_name(value)}, not text")


def _decimal_text(value: Decimal) -> str:
    if value.is_finite() and value == value.to_integral_value():
        return str(int(value))
    return str(value)


def to_currency(value: Any) -> str | None:
    """Convert a currency code to upper case."""
    text = to_text(value)
    return text.upper() if text is not None else None


def to_country(value: Any) -> str | None:
    """Convert a country code to ISO 3166-1 alpha-3 (``US`` becomes ``USA``).

    Unknown codes are passed on in upper case, and validation rejects them.
    """
    text = to_text(value)
    if text is None:
        return None
    code = text.upper()
    return ALPHA2_TO_ALPHA3.get(code, code) if len(code) == 2 else code


def to_region(value: Any) -> str | None:
    """Convert a phone region to ISO 3166-1 alpha-2 where the code is known."""
    text = to_text(value)
    if text is None:
        return None
    code = text.upper()
    return ALPHA3_TO_ALPHA2.get(code, code) if len(code) == 3 else code


def to_bool(value: Any) -> bool | None:
    """Convert booleans, 0/1 and words such as true/false or yes/no."""
    if type(value) is bool:
        return bool(value)
    if type(value) in (int, Decimal) and value in (0, 1):
        return bool(value)
    if type(value) is str:
        word = value.strip().lower()
        if not word:
            return None
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        raise ConversionError("is text that is not true/false, yes/no or 1/0")
    raise ConversionError(f"is a {_type_name(value)}, not a boolean")


def timestamp_converter(zone: tzinfo, *, date_only: bool = False) -> Converter:
    """Build a converter to ISO-8601 text with an offset.

    Naive values are read as wall-clock time in ``zone``. A time skipped or
    repeated by a DST change takes the offset before the change (``fold=0``).
    Aware values keep their instant and their own offset. Dates, and every
    value when ``date_only`` is set, become midnight in ``zone``.
    """

    def convert(value: Any) -> str | None:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime(value.year, value.month, value.day)
        elif type(value) is str:
            text = value.strip()
            if not text:
                return None
            moment = _parse_iso(text)
        else:
            raise ConversionError(f"is a {_type_name(value)}, not a timestamp")

        if date_only:
            moment = datetime(
                moment.year, moment.month, moment.day, tzinfo=moment.tzinfo
            )
        if moment.tzinfo is None or moment.utcoffset() is None:
            moment = moment.replace(tzinfo=zone, fold=0)
        return moment.isoformat()

    return convert


def _parse_iso(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ConversionError("is text that is not an ISO-8601 timestamp") from None


def list_converter(separator: str | None) -> Converter:
    """Build a converter to a list of unique, non-blank strings.

    Accepts Python lists, JSON array text (how Snowflake returns ARRAY and
    VARIANT columns) and, with ``separator``, delimited text. Order is kept,
    repeats and blanks are dropped because the API requires unique items.
    """

    def convert(value: Any) -> list[str] | None:
        if isinstance(value, list | tuple):
            items: Any = value
        elif type(value) is str:
            text = value.strip()
            if not text.startswith("[") and (
                separator is None or separator not in text
            ):
                # A single item is the common case and needs no splitting.
                return [text] if text else None
            items = _split_text(text, separator)
        else:
            items = [value]
        return _unique_texts(items)

    return convert


def _split_text(value: str, separator: str | None) -> list[Any]:
    text = value.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return parsed
    if separator is None:
        return [text]
    return text.split(separator)


def _unique_texts(items: Any) -> list[str] | None:
    result: list[str] = []
    seen: set[str] = set()
    for item in items:
        if item is None:
            continue
        if isinstance(item, list | tuple | dict):
            raise ConversionError("contains a nested list or object")
        text = to_text(item)
        if text is None or text in seen:
            continue
        seen.add(text)
        result.append(text)
    return result or None


def to_aliases(value: Any) -> list[dict[str, str]] | None:
    """Convert alternate order ids: a list of ``{type, id}`` objects or its JSON."""
    items = value
    if type(value) is str:
        text = value.strip()
        if not text:
            return None
        try:
            items = json.loads(text)
        except ValueError:
            raise ConversionError("is text that is not a JSON array") from None
    if not isinstance(items, list | tuple):
        raise ConversionError(f"is a {_type_name(items)}, not a list of {{type, id}}")

    result: list[dict[str, str]] = []
    for item in items:
        if not isinstance(item, dict) or "type" not in item or "id" not in item:
            raise ConversionError("has an item that is not an object with type and id")
        alias_type, alias_id = to_text(item["type"]), to_id(item["id"])
        if alias_type is not None and alias_id is not None:
            result.append({"type": alias_type, "id": alias_id})
    return result or None


def to_email(value: Any) -> str | None:
    """Keep an email as text, because connector.transform normalises it."""
    if type(value) is str:
        return value if value.strip() else None
    raise ConversionError(f"is a {_type_name(value)}, not text")


def to_phone(value: Any) -> str | int | None:
    """Keep a phone number as text or a whole number for the phone parser."""
    if type(value) is str:
        return value if value.strip() else None
    if type(value) is int:
        return value
    if type(value) in (Decimal, float):
        number = to_decimal(value)
        if number is not None and number == number.to_integral_value():
            return int(number)
    raise ConversionError(f"is a {_type_name(value)}, not a phone number")


def to_sha256(value: Any) -> str | None:
    """Trim and lowercase a pre-hashed value; connector.transform checks it."""
    if type(value) is str:
        return value.strip().lower() or None
    raise ConversionError(f"is a {_type_name(value)}, not a hex digest")

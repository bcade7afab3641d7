"""Checks of single JSON values, one function per kind of field.

Every check has the signature ``check(value, path, report)`` and calls
``report(json_path, message)`` once per problem. Messages name the field and
the rule but never echo a value that may be personal data.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeGuard

from connector.standin.codes import ISO_3166_ALPHA3, ISO_4217_CURRENCIES

Report = Callable[[str, str], None]
Check = Callable[[Any, str, Report], None]

#: Upper bound of every money and quantity field (1e14).
MAX_AMOUNT = 100_000_000_000_000

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# ISO 8601 extended format with seconds and an offset, which is also the
# RFC 3339 "date-time" that the OpenAPI files name.
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})",
    re.IGNORECASE,
)


def type_name(value: Any) -> str:
    """Return the JSON type name of a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def is_number(value: Any) -> TypeGuard[int | float]:
    """Return whether ``value`` is a finite JSON number (booleans are not)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def looks_like_email(text: str) -> bool:
    """Return whether ``text`` has the shape local@domain.tld."""
    return _EMAIL.fullmatch(text) is not None


def check_string(value: Any, path: str, report: Report) -> None:
    if not isinstance(value, str):
        report(path, f"must be a string, not {type_name(value)}")


def check_nonempty_string(value: Any, path: str, report: Report) -> None:
    if not isinstance(value, str):
        report(path, f"must be a string, not {type_name(value)}")
    elif not value:
        report(path, "must not be empty")


def check_boolean(value: Any, path: str, report: Report) -> None:
    if not isinstance(value, bool):
        report(path, f"must be a boolean, not {type_name(value)}")


def check_amount(value: Any, path: str, report: Report) -> None:
    """Check a money or quantity field: a number of at most 1e14."""
    if not is_number(value):
        report(path, f"must be a number, not {type_name(value)}")
    elif value > MAX_AMOUNT:
        report(path, "must be at most 100000000000000 (1e14)")


def check_timestamp(value: Any, path: str, report: Report) -> None:
    """Check an ISO 8601 date-time with seconds and a UTC offset."""
    if not isinstance(value, str):
        report(path, f"must be a date-time string, not {type_name(value)}")
        return
    if _TIMESTAMP.fullmatch(value) is None:
        report(path, "must be an ISO 8601 date-time with an offset")
        return
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        report(path, "is not a valid calendar date and time")


def check_currency(value: Any, path: str, report: Report) -> None:
    if not isinstance(value, str):
        report(path, f"must be a string, not {type_name(value)}")
    elif value not in ISO_4217_CURRENCIES:
        report(path, f"{value[:8]!r} is not an ISO 4217 currency code")


def check_country(value: Any, path: str, report: Report) -> None:
    if not isinstance(value, str):
        report(path, f"must be a string, not {type_name(value)}")
    elif value not in ISO_3166_ALPHA3:
        report(path, f"{value[:8]!r} is not an ISO 3166-1 alpha-3 country code")


def check_email(value: Any, path: str, report: Report) -> None:
    if not isinstance(value, str):
        report(path, f"must be a string, not {type_name(value)}")
    elif not looks_like_email(value):
        report(path, "is not an email address")


def check_sha256(value: Any, path: str, report: Report) -> None:
    if not isinstance(value, str):
        report(path, f"must be a string, not {type_name(value)}")
    elif _SHA256_HEX.fullmatch(value) is None:
        report(path, "must be a SHA-256 digest: 64 lowercase hex characters")


def check_ip_address(value: Any, path: str, report: Report) -> None:
    if not isinstance(value, str):
        report(path, f"must be a string, not {type_name(value)}")
        return
    try:
        ipaddress.ip_address(value)
    except ValueError:
        report(path, "is not an IPv4 or IPv6 address")


def check_unique_strings(value: Any, path: str, report: Report) -> None:
    """Check an array of strings without repeats (discount codes, tags)."""
    if not isinstance(value, list):
        report(path, f"must be an array, not {type_name(value)}")
        return
    seen: set[str] = set()
    for index, item in enumerate(value):
        if not isinstance(item, str):
            report(f"{path}[{index}]", f"must be a string, not {type_name(item)}")
        elif item in seen:
            report(f"{path}[{index}]", "repeats an earlier item")
        else:
            seen.add(item)

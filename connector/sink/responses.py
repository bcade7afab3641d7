"""Classify Orders API responses into the cases the sender acts on.

==========================================  ===========================
Response                                    Kind
==========================================  ===========================
2xx                                         ``ACCEPTED``
400 ``{"status", "response"}`` envelope     ``INVALID_ORDERS`` (per order)
400 with an empty or generic body           ``MALFORMED``
401                                         ``UNAUTHORIZED``
413                                         ``TOO_LARGE``
429                                         ``RATE_LIMITED``
408 and 5xx                                 ``SERVER_ERROR`` (retried)
any other status                            ``CLIENT_ERROR`` (fatal)
==========================================  ===========================

Text taken from a response is cut short and stripped of anything that looks
like an email address, because the server may echo what it was sent.
"""

from __future__ import annotations

import enum
import json
import math
import re
from dataclasses import dataclass
from typing import Any

import httpx

#: Maximum length of server text kept in a reject reason or an error message.
MAX_SERVER_TEXT = 200

_EMAIL = re.compile(r"[^\s@\"'<>,;:]+@[^\s@\"'<>,;:]+\.[A-Za-z]{2,}")
# Digit runs long enough to be a phone number, with common separators.
_PHONE = re.compile(r"\+?\d[\d\s().-]{5,}\d")
# Quoted text with a space inside, as a server quotes a name or an address;
# quoted field names have no spaces and stay readable.
_QUOTED_WORDS = re.compile(r"""(['"])[^'"]*\s[^'"]*\1""")
_SPACES = re.compile(r"\s+")


class Kind(enum.Enum):
    """Class of a response, which decides the sender's next step."""

    ACCEPTED = "accepted"
    INVALID_ORDERS = "invalid orders"
    MALFORMED = "malformed request"
    UNAUTHORIZED = "unauthorized"
    TOO_LARGE = "too large"
    RATE_LIMITED = "rate limited"
    SERVER_ERROR = "server error"
    CLIENT_ERROR = "client error"


@dataclass(frozen=True, slots=True)
class OrderProblem:
    """One entry of a validation envelope; text is already sanitised."""

    order_id: str
    message: str
    json_path: str | None


@dataclass(frozen=True, slots=True)
class Answer:
    """A classified response.

    ``retry_after`` is the wait the server asked for, in seconds, taken from
    the ``Retry-After`` header or else the body's ``retry_after_seconds``.
    ``message`` is sanitised server text, possibly empty.
    """

    kind: Kind
    status: int
    problems: tuple[OrderProblem, ...] = ()
    retry_after: float | None = None
    message: str = ""


def classify(response: httpx.Response) -> Answer:
    """Classify one fully read response."""
    status = response.status_code
    if 200 <= status < 300:
        return Answer(Kind.ACCEPTED, status)
    if status == 400:
        return _classify_bad_request(response)
    if status == 429:
        return Answer(Kind.RATE_LIMITED, status, retry_after=_retry_after(response))

    kind = {
        401: Kind.UNAUTHORIZED,
        408: Kind.SERVER_ERROR,
        413: Kind.TOO_LARGE,
    }.get(status)
    if kind is None:
        kind = Kind.SERVER_ERROR if status >= 500 else Kind.CLIENT_ERROR
    return Answer(kind, status, message=sanitise(response.text))


def sanitise(text: str, limit: int = MAX_SERVER_TEXT) -> str:
    """Collapse whitespace, mask personal values, cut ``text`` to ``limit``.

    Emails, phone-like digit runs and quoted text with spaces are masked.
    """
    text = _SPACES.sub(" ", text).strip()
    text = _EMAIL.sub("<email>", text[: limit * 4])
    text = _PHONE.sub("<number>", text)
    # NOTE: a one-word value echoed in quotes (a first name) is not masked.
    text = _QUOTED_WORDS.sub("<value>", text)
    if len(text) > limit:
        text = text[: limit - 3].rstrip() + "..."
    return text


def _classify_bad_request(response: httpx.Response) -> Answer:
    payload = _json_or_none(response.content)
    problems = _envelope_problems(payload)
    if problems:
        return Answer(Kind.INVALID_ORDERS, 400, problems=problems)
    return Answer(Kind.MALFORMED, 400, message=sanitise(response.text))


def _envelope_problems(payload: Any) -> tuple[OrderProblem, ...]:
    """Return the problems of a ``{"status", "response"}`` envelope.

    ``response`` is documented as a JSON-encoded string holding a list; a
    list given directly is accepted too. Entries without an ``order_id`` are
    skipped, so an envelope naming no order counts as a generic 400.
    """
    if not isinstance(payload, dict) or "response" not in payload:
        return ()
    entries = payload["response"]
    if isinstance(entries, str):
        entries = _json_or_none(entries.encode("utf-8"))
    if not isinstance(entries, list):
        return ()

    problems = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("order_id") in (None, ""):
            continue
        path = entry.get("json_path")
        problems.append(
            OrderProblem(
                order_id=str(entry["order_id"]),
                message=sanitise(str(entry.get("message") or "invalid order")),
                json_path=sanitise(str(path), 100) if path else None,
            )
        )
    return tuple(problems)


def _retry_after(response: httpx.Response) -> float | None:
    header = response.headers.get("Retry-After")
    if header is not None:
        seconds = _non_negative_float(header)
        if seconds is not None:
            return seconds
    payload = _json_or_none(response.content)
    if isinstance(payload, dict):
        return _non_negative_float(payload.get("retry_after_seconds"))
    return None


def _non_negative_float(value: Any) -> float | None:
    # Retry-After may also be an HTTP date; Northbeam sends seconds, and a
    # date falls back to the body value or the sender's own backoff.
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def _json_or_none(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None

"""HTTP responses of the stand-in, shaped like Northbeam's."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from connector.standin.rules import Problem


@dataclass(slots=True)
class Reply:
    """Response the HTTP layer sends for one request.

    With ``drop`` set, the connection is closed without a response.
    ``delay_seconds`` delays the response. ``orders`` and ``fault`` only
    feed the request log. ``stored`` is True when the request stored orders.
    """

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    delay_seconds: float = 0.0
    orders: int = 0
    fault: str | None = None
    stored: bool = False

    def __post_init__(self) -> None:
        self.status = int(self.status)


def json_reply(status: int, payload: Any, **headers: str) -> Reply:
    """Build a reply with a compact JSON body."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Reply(status, body, {"Content-Type": "application/json", **headers})


def error_reply(status: int, message: str) -> Reply:
    """Build a reply with the body ``{"error": message}``."""
    return json_reply(status, {"error": message})


def unauthorized() -> Reply:
    """Build the bare 401 Northbeam sends for a wrong key or client id."""
    return Reply(HTTPStatus.UNAUTHORIZED)


def malformed_json() -> Reply:
    """Build the 400 with an empty body that Northbeam sends for bad JSON."""
    return Reply(HTTPStatus.BAD_REQUEST)


def generic_bad_request() -> Reply:
    """Build a 400 whose body names no order."""
    return error_reply(HTTPStatus.BAD_REQUEST, "bad request")


def rate_limited(retry_after_seconds: int) -> Reply:
    """Build the 429 with a Retry-After header and the rate_limit_error body."""
    payload = {"error": "rate_limit_error", "retry_after_seconds": retry_after_seconds}
    return json_reply(
        HTTPStatus.TOO_MANY_REQUESTS,
        payload,
        **{"Retry-After": str(retry_after_seconds)},
    )


def validation_failed(problems: Sequence[Problem]) -> Reply:
    """Build the 400 envelope; ``response`` is a JSON-encoded list of problems."""
    listed = json.dumps([problem.as_dict() for problem in problems])
    return json_reply(HTTPStatus.BAD_REQUEST, {"status": "error", "response": listed})


def accepted() -> Reply:
    """Build the 200 response to a stored (or, in UAT, validated) batch."""
    return json_reply(HTTPStatus.OK, {"message": "Orders received"})


def scripted_status(status: int) -> Reply:
    """Build the response for a fault that names an HTTP status."""
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        return rate_limited(1)
    if status == HTTPStatus.UNAUTHORIZED:
        return unauthorized()
    if status == HTTPStatus.BAD_REQUEST:
        return malformed_json()
    try:
        phrase = HTTPStatus(status).phrase.lower()
    except ValueError:
        phrase = "injected fault"
    return error_reply(status, phrase)

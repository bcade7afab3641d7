"""classify(): every documented response shape of the Orders API."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from connector.sink.responses import MAX_SERVER_TEXT, Kind, classify, sanitise


def _response(
    status: int,
    body: Any = None,
    *,
    text: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    if text is None:
        text = "" if body is None else json.dumps(body)
    return httpx.Response(status, text=text, headers=headers)


def _envelope(entries: list[dict[str, Any]], *, encoded: bool = True) -> Any:
    return {
        "status": "invalid",
        "response": json.dumps(entries) if encoded else entries,
    }


def test_classify_200_is_accepted() -> None:
    assert classify(_response(200, {"ok": True})).kind is Kind.ACCEPTED


def test_classify_envelope_lists_order_problems() -> None:
    body = _envelope(
        [
            {"order_id": "A-1", "message": "bad currency", "json_path": "$.currency"},
            {"order_id": "A-2", "message": "tax missing", "json_path": "$.tax"},
        ]
    )
    answer = classify(_response(400, body))

    assert answer.kind is Kind.INVALID_ORDERS
    assert [p.order_id for p in answer.problems] == ["A-1", "A-2"]
    assert answer.problems[0].message == "bad currency"
    assert answer.problems[0].json_path == "$.currency"


def test_classify_envelope_accepts_list_not_encoded() -> None:
    body = _envelope([{"order_id": 7, "message": "x"}], encoded=False)
    answer = classify(_response(400, body))

    assert answer.kind is Kind.INVALID_ORDERS
    assert answer.problems[0].order_id == "7"
    assert answer.problems[0].json_path is None


def test_classify_envelope_naming_no_order_is_malformed() -> None:
    body = _envelope([{"message": "something is wrong"}])

    assert classify(_response(400, body)).kind is Kind.MALFORMED


@pytest.mark.parametrize(
    "text", ["", "Bad Request", '{"error": "invalid json"}', "<html>oops</html>"]
)
def test_classify_generic_400_is_malformed(text: str) -> None:
    answer = classify(_response(400, text=text))

    assert answer.kind is Kind.MALFORMED
    assert answer.status == 400


def test_classify_401_is_unauthorized() -> None:
    assert classify(_response(401)).kind is Kind.UNAUTHORIZED


def test_classify_413_is_too_large() -> None:
    assert classify(_response(413, text="too large")).kind is Kind.TOO_LARGE


def test_classify_429_reads_retry_after_header() -> None:
    body = {"error": "rate_limit_error", "retry_after_seconds": 9}
    answer = classify(_response(429, body, headers={"Retry-After": "3"}))

    assert answer.kind is Kind.RATE_LIMITED
    assert answer.retry_after == 3.0


def test_classify_429_falls_back_to_body_seconds() -> None:
    body = {"error": "rate_limit_error", "retry_after_seconds": 4.5}
    answer = classify(_response(429, body))

    assert answer.retry_after == 4.5


def test_classify_429_ignores_date_retry_after() -> None:
    body = {"error": "rate_limit_error", "retry_after_seconds": 2}
    headers = {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}

    assert classify(_response(429, body, headers=headers)).retry_after == 2.0


def test_classify_429_without_hint_has_no_retry_after() -> None:
    assert classify(_response(429, text="slow down")).retry_after is None


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
def test_classify_server_errors_are_retryable(status: int) -> None:
    assert classify(_response(status)).kind is Kind.SERVER_ERROR


@pytest.mark.parametrize("status", [403, 404, 405, 422])
def test_classify_other_4xx_is_client_error(status: int) -> None:
    assert classify(_response(status)).kind is Kind.CLIENT_ERROR


def test_sanitise_cuts_long_text() -> None:
    text = sanitise("word " * 1000)

    assert len(text) <= MAX_SERVER_TEXT
    assert text.endswith("...")


def test_sanitise_masks_phones_and_names() -> None:
    text = sanitise(
        'customer_name "Jane Q Doe" rejected; phone +1 (415) 555-2671; '
        'field "currency" invalid'
    )

    assert "Jane" not in text
    assert "555" not in text
    assert '"currency"' in text


def test_sanitise_masks_email_addresses() -> None:
    text = sanitise('customer_email "jane.doe@example.com" is invalid')

    assert "jane.doe" not in text
    assert "<email>" in text


def test_sanitise_collapses_whitespace() -> None:
    assert sanitise("  a\n\n b\t c ") == "a b c"

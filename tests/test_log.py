"""Log setup: secret masking in messages and tracebacks, JSON lines, reset."""

from __future__ import annotations

import io
import json
import logging

from connector import log
from connector.errors import SourceError
from connector.log import JsonFormatter, RedactionFilter, format_exception

SECRET = "s3cret-api-key-42"
OTHER = "client-id-9f8e7d"
EMAIL = "jane" + "@example.com"


def _record(message: str, *args: object, exc: BaseException | None = None):
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord(
        "connector.test", logging.ERROR, __file__, 1, message, args, exc_info
    )


def _raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def _chained_source_error() -> SourceError:
    try:
        try:
            # Built apart from the raise line, which the traceback quotes.
            message = "could not convert '" + EMAIL + "' to INT32"
            raise ValueError(message)
        except ValueError as driver:
            raise SourceError("query on orders failed: '<value>'") from driver
    except SourceError as caught:
        return caught


def test_filter_masks_message_and_args() -> None:
    redaction = RedactionFilter([SECRET, OTHER])
    record = _record("key %s and client %s", SECRET, OTHER)

    assert redaction.filter(record) is True
    assert record.getMessage() == "key *** and client ***"
    assert record.args is None


def test_filter_masks_traceback() -> None:
    redaction = RedactionFilter([SECRET])
    error = _raised(SourceError(f"login with {SECRET} refused"))
    record = _record("failed", exc=error)

    redaction.filter(record)

    assert record.exc_info is None
    assert record.exc_text is not None
    assert "Traceback (most recent call last)" in record.exc_text
    assert "login with *** refused" in record.exc_text
    assert SECRET not in record.exc_text


def test_filter_ignores_short_values() -> None:
    """Values under six characters would mask ordinary words."""
    redaction = RedactionFilter(["abc", "", SECRET])

    assert redaction.redact("abc and abcdef") == "abc and abcdef"
    assert redaction.redact(SECRET) == "***"


def test_filter_masks_longest_secret_first() -> None:
    redaction = RedactionFilter(["secret", "secret-and-more"])

    assert redaction.redact("x secret-and-more y") == "x *** y"


def test_traceback_hides_foreign_messages() -> None:
    """A driver error chained as the cause keeps its frames, not its message."""
    text = format_exception(_chained_source_error())

    assert EMAIL not in text
    assert "ValueError: <message hidden" in text
    assert "direct cause of the following exception" in text
    assert "connector.errors.SourceError: query on orders failed" in text
    assert text.count("Traceback (most recent call last)") == 2


def test_traceback_keeps_context_link() -> None:
    try:
        try:
            raise KeyError("name")
        except KeyError:
            raise SourceError("while handling") from None
    except SourceError as exc:
        suppressed = format_exception(exc)
    try:
        try:
            raise KeyError("name")
        except KeyError:
            raise SourceError("while handling")  # noqa: B904
    except SourceError as exc:
        implicit = format_exception(exc)

    assert "KeyError" not in suppressed
    assert "During handling of the above exception" in implicit
    assert "KeyError: <message hidden" in implicit


def test_drop_foreign_causes_cuts_chain() -> None:
    error = _chained_source_error()

    log.drop_foreign_causes(error)

    assert error.__cause__ is None
    assert error.__context__ is None
    assert EMAIL not in format_exception(error)
    assert "query on orders failed" in str(error)


def test_drop_foreign_causes_keeps_own_errors() -> None:
    inner = _chained_source_error()
    try:
        raise SourceError("outer") from inner
    except SourceError as exc:
        outer = exc

    log.drop_foreign_causes(outer)

    assert outer.__cause__ is inner
    assert inner.__cause__ is None


def test_json_lines_parse() -> None:
    stream = io.StringIO()
    log.configure(logging.DEBUG, json_lines=True, stream=stream)
    logger = logging.getLogger("connector.test")

    logger.info("run finished: sync=%s sent=%d key=%s", "orders", 3, SECRET)
    log.register_secrets([SECRET])
    logger.info("second key=%s", SECRET)
    logger.error("failed", exc_info=_chained_source_error())

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["level"] for line in lines] == ["info", "info", "error"]
    assert lines[0]["logger"] == "connector.test"
    assert lines[0]["message"].startswith("run finished: sync=orders sent=3")
    assert lines[1]["message"] == "second key=***"
    assert lines[0]["time"].endswith("+00:00")
    assert "query on orders failed" in lines[2]["exception"]
    assert EMAIL not in lines[2]["exception"]


def test_json_formatter_without_filter() -> None:
    """The formatter alone hides foreign messages in tracebacks too."""
    error = _chained_source_error()
    record = _record("failed", exc=error)

    payload = json.loads(JsonFormatter().format(record))

    assert EMAIL not in payload["exception"]
    assert payload["level"] == "error"


def test_text_format_and_levels() -> None:
    stream = io.StringIO()
    log.configure(logging.INFO, stream=stream)

    logging.getLogger("connector.test").debug("hidden detail")
    logging.getLogger("connector.test").info("rows read=%d", 5)
    logging.getLogger("httpx").info("HTTP Request: POST")
    logging.getLogger("httpx").warning("httpx warning")

    output = stream.getvalue()
    assert "INFO connector.test: rows read=5" in output
    assert "hidden detail" not in output
    assert "HTTP Request" not in output
    assert "WARNING httpx: httpx warning" in output


def test_verbose_shows_http_logs() -> None:
    stream = io.StringIO()
    log.configure(logging.DEBUG, stream=stream)

    logging.getLogger("httpx").info("HTTP Request: POST")

    assert "INFO httpx: HTTP Request: POST" in stream.getvalue()


def test_reset_restores_propagation() -> None:
    log.configure(logging.INFO, stream=io.StringIO())
    assert logging.getLogger("connector").propagate is False

    log.reset()

    for name in ("connector", *log.LIBRARY_LOGGERS):
        logger = logging.getLogger(name)
        assert logger.propagate is True
        assert not [h for h in logger.handlers if h.get_name() == "northbeam-sync"]


def test_configure_twice_keeps_one_handler() -> None:
    stream = io.StringIO()
    log.configure(logging.INFO, stream=io.StringIO())
    log.configure(logging.INFO, stream=stream)

    logging.getLogger("connector.test").info("once")

    assert stream.getvalue().count("once") == 1
    assert len(logging.getLogger("connector").handlers) == 1

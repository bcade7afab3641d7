"""Logging setup: key=value or JSON lines, with secrets masked at the source.

Modules log through ``logging.getLogger(__name__)``. :func:`configure` installs
one handler on the ``connector`` logger with :class:`RedactionFilter`, which
replaces every registered secret (API key, client id, warehouse password) by
``***`` in the final message, in case one slips into an exception text.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from typing import TextIO

_MASK = "***"


class RedactionFilter(logging.Filter):
    """Mask registered secret strings in formatted log messages."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        # Short values would mask unrelated text; real keys are long.
        self._secrets.update(s for s in secrets if s and len(s) >= 6)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, _MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = self.redact(record.getMessage())
        record.msg, record.args = message, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redact(
                logging.Formatter().formatException(record.exc_info)
            )
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for schedulers that parse logs."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            payload["exception"] = record.exc_text
        return json.dumps(payload, ensure_ascii=False)


_FILTER = RedactionFilter()


def register_secrets(secrets: Iterable[str]) -> None:
    """Add values that must never appear in any log line."""
    _FILTER.add(secrets)


def redact(text: str) -> str:
    """Mask registered secrets in ``text`` (for messages printed by the CLI)."""
    return _FILTER.redact(text)


def configure(
    level: int = logging.INFO,
    *,
    json_lines: bool = False,
    stream: TextIO | None = None,
) -> None:
    """Send ``connector`` logs to ``stream`` (stderr by default).

    httpx and httpcore stay at WARNING unless ``level`` is DEBUG, because
    httpx logs every request line at INFO.
    """
    logger = logging.getLogger("connector")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)

    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(_FILTER)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False

    quiet = logging.DEBUG if level <= logging.DEBUG else logging.WARNING
    for name in ("httpx", "httpcore", "snowflake.connector", "urllib3"):
        logging.getLogger(name).setLevel(quiet)

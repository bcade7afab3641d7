"""Logging setup: plain or JSON lines, with secrets masked before output.

Modules log through ``logging.getLogger(__name__)``. :func:`configure`
installs one stderr handler on the ``connector`` logger and on the HTTP and
driver loggers. The handler's :class:`RedactionFilter` replaces every
registered secret (API key, client id, warehouse URL and password) with
``***`` in the final message and traceback.

Tracebacks keep every frame and the messages of this package's exceptions,
which never quote a personal value. Other exceptions, such as a database
driver's error chained as the cause, can quote a row value, so their
messages are replaced with a note. The package's own error above them
already contains a cleaned copy of the message.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

from connector.errors import ConnectorError

MASK = "***"
#: Loggers of libraries that log requests or connections: DEBUG only with
#: ``--verbose``, because httpx logs every request line at INFO.
LIBRARY_LOGGERS = ("httpx", "httpcore", "snowflake.connector", "urllib3")
#: Secrets shorter than this are not masked: they would mask unrelated text.
MIN_SECRET_LENGTH = 6

_HANDLER_NAME = "northbeam-sync"
_HIDDEN = "<message hidden: it may quote warehouse or API values>"
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def format_exception(exc: BaseException) -> str:
    """Format ``exc`` and its chained causes like Python, hiding foreign messages.

    Messages of :class:`ConnectorError` subclasses are kept. Other exceptions
    keep their type and frames, but their messages are replaced by a note.
    """
    lines: list[str] = []
    for item, joint in reversed(_chain(exc)):
        if item.__traceback__ is not None:
            lines.append("Traceback (most recent call last):\n")
            lines.extend(traceback.format_tb(item.__traceback__))
        lines.append(_describe(item) + "\n")
        lines.append(joint)
    return "".join(lines).rstrip("\n")


def _chain(exc: BaseException) -> list[tuple[BaseException, str]]:
    """Return ``exc`` and its causes, newest first, each with its link text."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    joint = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, joint))
        if current.__cause__ is not None:
            current, joint = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, joint = current.__context__, _CONTEXT
        else:
            current = None
    return chain


def drop_foreign_causes(exc: ConnectorError) -> None:
    """Cut the cause chain of ``exc`` at the first exception not of this package.

    The Python API calls this on the errors it raises, because a scheduler
    logs the whole chain and a driver's error in it can quote a row value.
    The cleaned message and the frames of ``exc`` stay.
    """
    current: BaseException = exc
    while True:
        link = current.__cause__
        if link is None and not current.__suppress_context__:
            link = current.__context__
        if link is None:
            return
        if not isinstance(link, ConnectorError):
            current.__cause__ = None
            current.__context__ = None
            current.__suppress_context__ = True
            return
        current = link


def _describe(exc: BaseException) -> str:
    kind = type(exc)
    name = kind.__qualname__
    if kind.__module__ not in ("builtins", "__main__"):
        name = f"{kind.__module__}.{name}"
    if isinstance(exc, ConnectorError):
        return f"{name}: {exc}"
    return f"{name}: {_HIDDEN}" if str(exc) else name


class RedactionFilter(logging.Filter):
    """Mask registered secrets in messages and tracebacks of log records.

    The record is changed in place: its message is formatted, masked and
    stored back, and its traceback is formatted by :func:`format_exception`,
    masked and stored as ``exc_text``.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Register more values to mask."""
        found = set(self._secrets)
        found.update(s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH)
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = sorted(found, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """Return ``text`` with every registered secret replaced by ``***``."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.redact(record.getMessage()), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = format_exception(record.exc_info[1])
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for schedulers that parse logs.

    Keys: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message`` and,
    when the record has one, ``exception`` (the formatted traceback).
    """

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        payload = {
            "time": moment.isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[1] and not record.exc_text:
            record.exc_text = format_exception(record.exc_info[1])
        if record.exc_text:
            payload["exception"] = record.exc_text
        return json.dumps(payload, ensure_ascii=False)


_FILTER = RedactionFilter()
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def register_secrets(secrets: Iterable[str]) -> None:
    """Add values that must never appear in any log line or CLI message."""
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
    """Send ``connector`` and library logs to ``stream`` (stderr by default).

    Library loggers (:data:`LIBRARY_LOGGERS`) get the same handler and stay
    at WARNING unless ``level`` is DEBUG. Calling this again replaces the
    handler, and :func:`reset` removes it.
    """
    reset()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(_FILTER)
    handler.setFormatter(
        JsonFormatter() if json_lines else logging.Formatter(_TEXT_FORMAT)
    )
    handler.set_name(_HANDLER_NAME)

    library_level = logging.DEBUG if level <= logging.DEBUG else logging.WARNING
    levels = {"connector": level, **dict.fromkeys(LIBRARY_LOGGERS, library_level)}
    for name, logger_level in levels.items():
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logger_level)
        logger.propagate = False


def reset() -> None:
    """Remove the handler :func:`configure` installed; records propagate again.

    Levels of the library loggers go back to unset. Programs that run the
    CLI in process, such as test suites, call this to get their own logging
    back.
    """
    for name in ("connector", *LIBRARY_LOGGERS):
        logger = logging.getLogger(name)
        installed = [h for h in logger.handlers if h.get_name() == _HANDLER_NAME]
        if not installed:
            continue
        for handler in installed:
            logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True

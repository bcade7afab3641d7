"""Every exception northbeam-sync raises.

::

    ConnectorError                 base class; ``exit_code`` maps to the CLI:
                                   1 failed, 2 invalid config or mapping,
                                   3 reject ceiling, 4 locked by another run
        ConfigError                missing or invalid setting (config file, key, value)
        MappingError               mapping file invalid (file, line, field)
        SourceError                warehouse unreachable, relation or column missing
        StateError                 state store unreadable or inconsistent
            LockedError            another run of the same sync holds the lock
        SinkError                  the Orders API could not be reached or used
            RetryableSinkError     429, 5xx, timeouts: a later run may succeed
            FatalSinkError         401 and other 4xx: fix the settings first
        RejectCeilingError         too many orders rejected in one run

Messages say what failed, on which setting, column, order id or HTTP status,
and what to do next. They never contain a secret or a raw personal value.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base class of all errors raised by northbeam-sync."""

    exit_code = 1
    #: Whether running the same command again, unchanged, may succeed.
    retryable = False


class ConfigError(ConnectorError):
    """A setting in the config file is missing or invalid."""

    exit_code = 2

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class MappingError(ConnectorError):
    """The mapping file is invalid; ``line`` is 1-based when known."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        where = path or "mapping"
        if line is not None:
            where = f"{where}, line {line}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
        self.field = field


class SourceError(ConnectorError):
    """The warehouse could not be reached or a query failed."""

    retryable = True


class StateError(ConnectorError):
    """The state store cannot be read or written."""


class LockedError(StateError):
    """Another run of the same sync holds the lock."""

    exit_code = 4
    retryable = True


class SinkError(ConnectorError):
    """The Orders API could not be reached or refused the request."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RetryableSinkError(SinkError):
    """A transient failure (429, 5xx, timeout) outlasted the retry bound."""

    retryable = True


class FatalSinkError(SinkError):
    """A failure that retrying cannot fix, such as rejected credentials."""


class RejectCeilingError(ConnectorError):
    """The share of rejected orders in a run exceeded ``max_reject_ratio``."""

    exit_code = 3

    def __init__(self, message: str, *, rejected: int, seen: int) -> None:
        super().__init__(message)
        self.rejected = rejected
        self.seen = seen

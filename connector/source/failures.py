"""Error messages of the source: database messages cleaned of secrets and values.

A database driver's message is useful ("relation "orders" does not exist")
but may quote a connection secret or a value from a row (a conversion error
on an email). Messages pass through :class:`Redactor` before they reach a
``SourceError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

import duckdb
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from connector.errors import SourceError
from connector.source.buffer import is_out_of_memory
from connector.source.spec import SourceSpec

_MAX_MESSAGE = 400
_QUOTED_TEXT = re.compile(r"'([^']*)'|\"([^\"]*)\"")
# Names of tables, columns, types and hosts; IPv4 addresses.
_IDENTIFIER_LIKE = re.compile(r"[A-Za-z_][A-Za-z0-9_$.\-]*\Z|\d{1,3}(\.\d{1,3}){3}\Z")
# Lines a driver adds to point into the SQL text, which may contain literals.
_ECHO_PREFIXES = ("LINE ", "[SQL:", "[parameters:", "(Background on this error")


def permanent_error(message: str) -> SourceError:
    """Build a ``SourceError`` that running again unchanged will not fix."""
    error = SourceError(message)
    error.retryable = False
    return error


class Redactor:
    """A message cleaner that removes known secrets and value-like quoted text."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Remember ``secret`` and its URL-encoded forms for later redaction."""
        if not secret:
            return
        for form in (secret, quote(secret, safe=""), quote_plus(secret)):
            if form not in self._secrets:
                self._secrets.append(form)
        self._secrets.sort(key=len, reverse=True)

    def redact(self, text: str) -> str:
        """Replace every known secret in ``text`` with ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def driver_message(self, exc: BaseException) -> str:
        """Return the driver's message of ``exc`` as one sentence, cleaned.

        The SQL echo is dropped, quoted text that does not look like an
        identifier is replaced with ``'<value>'``, and secrets are redacted.
        """
        original = getattr(exc, "orig", None) or exc
        lines = [
            line.strip()
            for line in str(original).splitlines()
            if line.strip() and not _is_echo(line)
        ]
        text = " ".join(lines) or type(original).__name__
        text = _QUOTED_TEXT.sub(_mask_value, self.redact(text))
        if len(text) > _MAX_MESSAGE:
            text = text[: _MAX_MESSAGE - 3] + "..."
        return text if text.endswith((".", "!", "?")) else text + "."


def _is_echo(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(_ECHO_PREFIXES) or set(stripped) <= {"^", " "}


def _mask_value(match: re.Match[str]) -> str:
    # NOTE: a single word such as a first name looks like an identifier, so
    # it is kept. Emails, phone numbers and text with spaces are masked.
    inner = match.group(1) if match.group(1) is not None else match.group(2)
    if _IDENTIFIER_LIKE.match(inner):
        return match.group(0)
    mark = match.group(0)[0]
    return f"{mark}<value>{mark}"


def is_connection_error(exc: DBAPIError) -> bool:
    """Tell whether ``exc`` is a lost or refused connection, not a bad query."""
    if exc.connection_invalidated:
        return True
    if isinstance(exc.orig, duckdb.Error):
        # DuckDB runs in this process: its OperationalErrors are failed
        # reads or writes of the file (I/O, memory), not lost connections.
        return False
    return isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)


def query_error(redactor: Redactor, exc: DBAPIError, label: str) -> SourceError:
    """Build the error for a failed read of ``label``.

    A lost connection may succeed on a later run; a failed query does not.
    """
    message = f"query on {label} failed: {redactor.driver_message(exc)}"
    # DuckDB reports it as an OperationalError, like a lost connection.
    if is_out_of_memory(exc):
        return permanent_error(
            f"{message} Give DuckDB more memory with memory_limit in "
            "warehouse.url, such as duckdb:///shop.duckdb?memory_limit=4GB."
        )
    if is_connection_error(exc):
        return SourceError(
            f"{message} The connection failed; running again may succeed."
        )
    if isinstance(exc.orig, duckdb.IOException):
        return SourceError(
            f"{message} DuckDB could not read or write a file: the database, "
            "or the temporary files it spills to next to it. Check the disk "
            "space and the permissions of that folder."
        )
    return permanent_error(
        f"{message} Check the SQL written in the mapping (query, where, "
        "expressions) against the column types."
    )


def relation_error(
    redactor: Redactor,
    exc: DBAPIError,
    label: str,
    table: str | None,
    near: list[str],
) -> SourceError:
    """Build the error for a relation that cannot be read.

    ``table`` is None for a query relation. ``near`` lists existing tables
    with similar names.
    """
    if is_connection_error(exc):
        return query_error(redactor, exc, label)
    message = redactor.driver_message(exc)
    if table is None:
        return permanent_error(
            f"{label} in the mapping failed: {message} Check the query's SQL."
        )
    hint = f" Tables with similar names: {', '.join(near)}." if near else ""
    return permanent_error(
        f"cannot read {label}: {message}{hint} "
        "Check the database and schema names and their letter case. Unquoted "
        "names are folded to upper case on Snowflake and to lower case on "
        'PostgreSQL; write "Name" in double quotes to match exactly.'
    )


def fragment_error(
    redactor: Redactor, exc: DBAPIError, spec: SourceSpec, label: str
) -> SourceError:
    """Build the error for a where clause or expression that failed."""
    if is_connection_error(exc):
        return query_error(redactor, exc, label)
    parts = [f"where: {spec.where}"] if spec.where else []
    parts.extend(f"expression {alias}: {sql}" for alias, sql in spec.expressions)
    fragments = "; ".join(parts) or "no where clause or expressions"
    return permanent_error(
        f"reading {label} failed: {redactor.driver_message(exc)} "
        f"Check the SQL written in the mapping ({fragments})."
    )

"""Cap DuckDB's buffer pool while the sync reads base tables.

DuckDB keeps every block it has read from a database file in memory, up to
``memory_limit`` (80% of the machine's memory by default). The sync reads
the orders table page by page and looks up child rows by key, so a run
touches every block once or a few times. Without a cap its memory grows to
the size of the file: 78 MB more for the 1,000,000-order benchmark shop,
gigabytes for a large one. A read of a base table in pages needs a few
megabytes. So while the sync reads only base tables of a DuckDB file in
pages, and nothing has set a limit of its own, the buffer pool is capped
at :data:`READ_MEMORY_LIMIT`. Blocks dropped from it are read again from
the operating system's file cache. Views, queries and a window read in one
sorted statement can need much more memory, so a sync that reads any of
them keeps DuckDB's setting. A read that fails under the
cap (wide rows such as large JSON columns run out of memory, and spilling
fails on a read-only disk) lifts it and runs again.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError

#: The cap while the sync reads base tables in pages. With it, a sync of
#: 1,000,000 benchmark orders peaked at about 80 MB less (DuckDB 2.0.1).
READ_MEMORY_LIMIT = "32MB"

_MEMORY_SIZE = re.compile(r"[0-9]+(\.[0-9]+)? ?[A-Za-z]{1,3}")

_CURRENT = "SELECT current_setting('memory_limit')"

# DuckDB's names for the setting; max_memory is an alias of memory_limit.
_LIMIT_SETTINGS = ("memory_limit", "max_memory")


def may_cap(url: URL) -> bool:
    """Tell whether a DuckDB URL names a local file and sets no memory limit.

    An in-memory database keeps its tables in the buffer pool itself, so
    it is never capped.
    """
    if any(name.lower() in _LIMIT_SETTINGS for name in url.query):
        return False
    return bool(url.database) and Path(str(url.database)).is_file()


def is_default_limit(engine: Engine) -> bool:
    """Tell whether ``memory_limit`` of the engine's database is DuckDB's default.

    Other code in this process may have set a limit on the same file's
    database instance, which the sync must neither replace nor reset.
    """
    with engine.connect() as conn:
        current = conn.execute(sa.text(_CURRENT)).scalar_one()
    with duckdb.connect(":memory:") as fresh:
        default = fresh.execute(_CURRENT).fetchone()
    return default is not None and current == default[0]


def set_limit(engine: Engine, limit: str) -> None:
    """Set DuckDB's ``memory_limit`` for the database instance of ``engine``.

    The setting is global to the instance: it applies to every connection
    of ``engine``, and to other connections to the same file in this
    process, until :func:`reset_limit`.
    """
    with engine.connect() as conn:
        conn.execute(sa.text(f"SET memory_limit = '{_checked(limit)}'"))


def reset_limit(engine: Engine) -> None:
    """Return ``memory_limit`` to DuckDB's default.

    That is the limit the instance had before the cap, which
    :func:`is_default_limit` checked.
    """
    with engine.connect() as conn:
        conn.execute(sa.text("RESET memory_limit"))


def is_out_of_memory(exc: DBAPIError) -> bool:
    """Tell whether DuckDB failed a statement for lack of memory."""
    return isinstance(exc.orig, duckdb.OutOfMemoryException)


def _checked(limit: str) -> str:
    # The value is written into the statement, since SET takes no parameters.
    if _MEMORY_SIZE.fullmatch(limit) is None:
        raise ValueError(f"not a DuckDB memory size such as 32MB: {limit!r}")
    return limit

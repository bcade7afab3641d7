"""A throwaway PostgreSQL server for tests, started from the local binaries.

Import the session fixtures into a conftest.py::

    from pg import postgres_server, postgres_url  # noqa: F401

The server listens on 127.0.0.1 on a free port and on a Unix socket in a
temporary folder. It trusts every local connection and contains one empty
database. When the binaries (``initdb``, ``pg_ctl``) are missing, the tests
that use it are skipped. If the environment variable ``CI`` is ``true``
(or ``1``, ``yes``) they fail instead, so a missing server never passes
silently on CI.

PostgreSQL does not start as root. Under root the server runs as the
unprivileged user ``nbsync_pg``, created with ``useradd`` when missing.

Several conftest files may import the fixtures. The first test that needs
the server starts it, the others share it, and it stops after the last one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

PG_USER = "nbsync_pg"
DATABASE = "nbsync_test"
ROLE = "nbsync"
_TIMEOUT = 60


@dataclass(frozen=True)
class PostgresServer:
    """A running test server: where it listens and how to reach it."""

    bin_dir: Path
    data_dir: Path
    socket_dir: Path
    port: int
    log_file: Path
    os_user: str | None

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the test database over TCP on 127.0.0.1."""
        return f"postgresql+psycopg://{ROLE}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def socket_url(self) -> str:
        """SQLAlchemy URL of the test database over the Unix socket."""
        return (
            f"postgresql+psycopg://{ROLE}@/{DATABASE}"
            f"?host={self.socket_dir}&port={self.port}"
        )


def find_bin_dir() -> Path | None:
    """Return the folder holding ``initdb`` and ``pg_ctl``, or None."""
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: _version_number(path.parent.name),
        reverse=True,
    )
    candidates.extend(versions)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def _version_number(name: str) -> int:
    return int(name) if name.isdigit() else 0


def _missing(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def _ensure_os_user() -> str | None:
    """Return the user to run the server as, or None to run as ourselves."""
    if os.geteuid() != 0:
        return None
    probe = subprocess.run(["id", "-u", PG_USER], capture_output=True, check=False)
    if probe.returncode == 0:
        return PG_USER
    useradd = shutil.which("useradd")
    if useradd is None:
        _missing(f"running as root and cannot create the user {PG_USER}: no useradd")
    created = subprocess.run(
        [useradd, "--system", "--no-create-home", PG_USER],
        capture_output=True,
        text=True,
        check=False,
    )
    if created.returncode != 0:
        _missing(f"useradd {PG_USER} failed: {created.stderr.strip()}")
    return PG_USER


def _run(command: list[str], os_user: str | None, cwd: Path) -> None:
    if os_user is not None:
        command = ["runuser", "-u", os_user, "--", *command]
    result = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-2000:]
        raise RuntimeError(f"{Path(command[0]).name} failed:\n{output}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _make_root(os_user: str | None) -> Path:
    # pytest's own temp folders are private to root, so the server user
    # could not enter them; this folder belongs to that user instead.
    root = Path(tempfile.mkdtemp(prefix="nbsync-pg-"))
    if os_user is not None:
        shutil.chown(root, user=os_user)
    return root


def _server_options(port: int, socket_dir: Path) -> str:
    # Durability settings are off: the data is thrown away after the run.
    return " ".join(
        [
            "-c listen_addresses=127.0.0.1",
            f"-c port={port}",
            f"-c unix_socket_directories={socket_dir}",
            "-c fsync=off",
            "-c synchronous_commit=off",
            "-c full_page_writes=off",
        ]
    )


def start_server(bin_dir: Path, os_user: str | None) -> PostgresServer:
    """Initialise a data folder, start the server and create the database."""
    root = _make_root(os_user)
    server = PostgresServer(
        bin_dir=bin_dir,
        data_dir=root / "data",
        socket_dir=root / "socket",
        port=_free_port(),
        log_file=root / "server.log",
        os_user=os_user,
    )
    try:
        _init_data_dir(server)
        _start(server)
        _create_database(server)
    except BaseException:
        stop_server(server)
        raise
    return server


def _init_data_dir(server: PostgresServer) -> None:
    server.socket_dir.mkdir()
    if server.os_user is not None:
        shutil.chown(server.socket_dir, user=server.os_user)

    initdb = [
        str(server.bin_dir / "initdb"),
        f"--pgdata={server.data_dir}",
        f"--username={ROLE}",
        "--auth=trust",
        "--encoding=UTF8",
        "--no-locale",
        "--no-sync",
    ]
    _run(initdb, server.os_user, server.data_dir.parent)


def _start(server: PostgresServer) -> None:
    command = [
        str(server.bin_dir / "pg_ctl"),
        "start",
        f"--pgdata={server.data_dir}",
        f"--log={server.log_file}",
        "--wait",
        f"--timeout={_TIMEOUT}",
        f"--options={_server_options(server.port, server.socket_dir)}",
    ]
    try:
        _run(command, server.os_user, server.data_dir.parent)
    except RuntimeError as exc:
        log = ""
        if server.log_file.exists():
            log = server.log_file.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{exc}\nserver log:\n{log}") from exc


def _create_database(server: PostgresServer) -> None:
    import psycopg

    with psycopg.connect(
        host="127.0.0.1",
        port=server.port,
        user=ROLE,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(f"CREATE DATABASE {DATABASE}")


def stop_server(server: PostgresServer) -> None:
    """Stop the server and delete its folder."""
    ctl = str(server.bin_dir / "pg_ctl")
    root = server.data_dir.parent
    with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
        _run(
            [ctl, "stop", "-D", str(server.data_dir), "-m", "fast", "-w"],
            server.os_user,
            root,
        )
    shutil.rmtree(root, ignore_errors=True)


class _SharedServer:
    """The one server of this process, counted by the fixtures that use it."""

    def __init__(self) -> None:
        self.server: PostgresServer | None = None
        self.users = 0

    def acquire(self) -> PostgresServer:
        if self.server is None:
            self.server = _start_or_skip()
        self.users += 1
        return self.server

    def release(self) -> None:
        self.users -= 1
        if self.users == 0 and self.server is not None:
            server, self.server = self.server, None
            stop_server(server)


def _start_or_skip() -> PostgresServer:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        _missing(
            "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in "
            "/usr/lib/postgresql/*/bin; install the Debian package postgresql"
        )
    return start_server(bin_dir, _ensure_os_user())


_shared = _SharedServer()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server shared by the whole test session."""
    server = _shared.acquire()
    try:
        yield server
    finally:
        _shared.release()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """SQLAlchemy URL (psycopg 3) of the session's test database."""
    return postgres_server.url

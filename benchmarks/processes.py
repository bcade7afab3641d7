"""Subprocesses of the benchmark: the stand-in server and measured syncs.

The stand-in runs as ``python -m connector.standin`` so that the orders it
stores in memory never count toward the sync's peak memory, and so that its
CPU time shows separately. It listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode

API_KEY = "bench-key"
#: Orders per request in every benchmark sync, the API's maximum.
BATCH_SIZE = 1000
CLIENT_ID = "bench-client"
HERE = Path(__file__).resolve().parent
_LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")
_STARTUP_SECONDS = 30.0


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class StandInProcess:
    """``python -m connector.standin`` on 127.0.0.1, with no byte budget.

    Every run of one benchmark uses the same ``port``: the base URL is part
    of each order's fingerprint, so a new URL would make an incremental run
    send every order again.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Self:
        command = [
            sys.executable,
            "-m",
            "connector.standin",
            "--port",
            str(self.port),
            "--api-key",
            API_KEY,
            "--client-id",
            CLIENT_ID,
        ]
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        self.url = self._wait_for_url()
        return self

    def _wait_for_url(self) -> str:
        assert self._process is not None and self._process.stdout is not None
        deadline = time.monotonic() + _STARTUP_SECONDS
        while time.monotonic() < deadline:
            line = self._process.stdout.readline()
            if not line:
                break
            match = _LISTENING.search(line)
            if match:
                return match.group(1)
        self._stop()
        raise RuntimeError(
            "the stand-in did not start; run python -m connector.standin"
        )

    @property
    def cpu_seconds(self) -> float:
        """User and system CPU seconds the stand-in used so far."""
        assert self._process is not None
        fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1]
        utime, stime = fields.split()[11:13]
        return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop()

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def write_config(folder: Path, url: str, duckdb: Mapping[str, str]) -> Path:
    """Write the sync config of the benchmark shop in ``folder``; return its path.

    ``duckdb`` contains DuckDB settings, such as ``memory_limit``, which are
    passed in the query string of the warehouse URL.
    """
    query = f"?{urlencode(duckdb)}" if duckdb else ""
    config = folder / "config.yaml"
    config.write_text(
        f"""\
warehouse:
  url: duckdb:///{folder / "shop.duckdb"}{query}
mapping: mapping.yaml
northbeam:
  base_url: {url}
  api_key: {API_KEY}
  client_id: {CLIENT_ID}
  batch_size: {BATCH_SIZE}
  pacing:
    enabled: false
state:
  path: state.db
sync:
  reject_file: rejects.jsonl
""",
        encoding="utf-8",
    )
    return config


def reset_state(folder: Path) -> None:
    """Delete the state file and reject report, so the next sync is a first run."""
    for name in ("state.db", "state.db-wal", "state.db-shm", "rejects.jsonl"):
        (folder / name).unlink(missing_ok=True)


def run_sync(config: Path, *, dry_run: Path | None = None) -> dict[str, Any]:
    """Run one sync in a subprocess and return the figures it wrote."""
    result = config.parent / "sync-result.json"
    result.unlink(missing_ok=True)
    command = [sys.executable, str(HERE / "measure_sync.py"), str(config), str(result)]
    if dry_run is not None:
        command += ["--dry-run", str(dry_run)]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    figures: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
    figures["process_seconds"] = time.perf_counter() - started
    return figures

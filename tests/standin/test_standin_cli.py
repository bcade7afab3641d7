"""``python -m connector.standin`` in a child process."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import httpx

AUTH = {"Authorization": "k-1", "Data-Client-ID": "c-1"}


def test_module_serves_until_sigterm(make_order):
    command = [
        sys.executable,
        "-m",
        "connector.standin",
        "--port",
        "0",
        "--api-key",
        "k-1",
        "--client-id",
        "c-1",
        "--budget-bytes",
        "100000",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", first_line)
        assert match, first_line
        response = httpx.post(
            match.group(0) + "/v1/orders", json=[make_order()], headers=AUTH
        )
        wrong_key = httpx.get(match.group(0) + "/v1/orders")
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)

    assert response.status_code == 200
    assert wrong_key.status_code == 401
    assert process.returncode == 0
    assert "stopped" in output
    assert "k-1" not in first_line + output


def test_module_rejects_bad_fault_rates():
    result = subprocess.run(
        [sys.executable, "-m", "connector.standin", "--error-rate", "2"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 2
    assert "rates" in result.stderr

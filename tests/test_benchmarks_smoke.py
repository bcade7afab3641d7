"""The benchmark script runs end to end on a tiny shop and writes every figure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"
ORDERS = 2000
CHANGED = 100


def test_benchmark_writes_every_figure(tmp_path: Path) -> None:
    """A 2,000-order run writes the table's JSON; no figure is checked for speed."""
    out = tmp_path / "results.json"
    command = [
        sys.executable,
        str(RUN),
        *("--orders", str(ORDERS), "--repeat", "1", "--changed", str(CHANGED)),
        *("--stage-orders", str(ORDERS), "--pacing-orders", "300"),
        *("--out", str(out)),
    ]

    done = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    for key in ("machine", "settings", "shop", "throughput", "memory", "stages"):
        assert key in report
    for key in ("wire", "incremental", "pacing"):
        assert key in report
    assert report["shop"]["orders"] == ORDERS
    assert report["throughput"]["orders_per_second"] > 0
    assert report["throughput"]["runs"][0]["summary"]["orders_sent"] == ORDERS
    assert set(report["memory"]["peak_rss_bytes"]) == {str(ORDERS // 10), str(ORDERS)}
    assert set(report["stages"]["us_per_order"]) == {
        "read",
        "map",
        "hash",
        "validate",
        "serialise",
        "send",
        "state",
    }
    assert report["wire"]["request_bytes_per_order"] > 0
    assert report["wire"]["request_bytes_per_order_standin"] > 0
    assert report["incremental"]["orders_sent"] == CHANGED
    assert report["pacing"]["orders"] == 300
    assert "end to end" in done.stdout

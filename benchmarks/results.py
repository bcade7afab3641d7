"""Machine facts, medians and the printed table of a benchmark run."""

from __future__ import annotations

import os
import platform
import statistics
from importlib import metadata
from pathlib import Path
from typing import Any

_PACKAGES = (
    "northbeam-sync",
    "duckdb",
    "duckdb-engine",
    "SQLAlchemy",
    "pydantic",
    "pydantic-core",
    "httpx",
    "phonenumbers",
)
_MIB = 1024 * 1024


def machine() -> dict[str, Any]:
    """Return the CPU model, core count, memory, Python and package versions."""
    return {
        "cpu_model": _cpuinfo("model name"),
        "cores": os.cpu_count(),
        "memory_gb": round(_meminfo_kb("MemTotal") / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in _PACKAGES},
    }


def _cpuinfo(field: str) -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(field):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _meminfo_kb(field: str) -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def median(values: list[float] | list[int]) -> float:
    """Return the median of ``values``, the figure kept from repeated runs."""
    return float(statistics.median(values))


Row = tuple[str, str, str]


def table(report: dict[str, Any]) -> list[str]:
    """Return the lines of the results table: figure, value, target."""
    orders = report["settings"]["orders"]
    rows: list[Row] = []
    rows += _throughput_rows(report.get("throughput"), orders)
    rows += _memory_rows(report.get("memory"), orders)
    rows += _wire_rows(report.get("wire"))
    rows += _incremental_rows(report.get("incremental"), orders)
    rows += _pacing_rows(report.get("pacing"))
    rows += _stage_rows(report.get("stages"))
    width = max(len(row[0]) for row in rows) + 2
    return [
        f"{name:<{width}}{value:>16}  {target}".rstrip() for name, value, target in rows
    ]


def _throughput_rows(figures: dict[str, Any] | None, orders: int) -> list[Row]:
    if figures is None:
        return []
    rate = figures["orders_per_second"]
    cpu_us = 1e6 / figures["orders_per_cpu_second"]
    return [
        (
            f"end to end, {orders:,} orders",
            f"{rate:,.0f} orders/s",
            _verdict(rate >= 10_000, ">= 10,000"),
        ),
        ("  CPU of the sync per order", f"{cpu_us:,.0f} us", ""),
    ]


def _verdict(met: bool, target: str) -> str:
    return f"{target}: {'met' if met else 'not met'}"


def _memory_rows(figures: dict[str, Any] | None, orders: int) -> list[Row]:
    if figures is None:
        return []
    rows: list[Row] = []
    for size, peak in figures["peak_rss_bytes"].items():
        mib = peak / _MIB
        target = _verdict(mib < 250, "< 250 MiB") if int(size) == orders else ""
        rows.append((f"peak RSS, {int(size):,} orders", f"{mib:,.0f} MiB", target))
    growth = figures["growth"]
    rows.append(
        (
            "  growth for 10x the orders",
            f"{growth:+.1%}",
            _verdict(growth < 0.1, "< 10%"),
        )
    )
    return rows


def _wire_rows(figures: dict[str, Any] | None) -> list[Row]:
    if figures is None:
        return []
    rows: list[Row] = []
    if "request_bytes_per_order" in figures:
        value = figures["request_bytes_per_order"]
        rows.append(("request bytes per order (batches)", f"{value:,.0f}", ""))
    if "request_bytes_per_order_standin" in figures:
        value = figures["request_bytes_per_order_standin"]
        rows.append(("request bytes per order (stand-in log)", f"{value:,.0f}", ""))
    return rows


def _incremental_rows(figures: dict[str, Any] | None, orders: int) -> list[Row]:
    if figures is None:
        return []
    label = f"incremental, {figures['changed']:,} of {orders:,} changed"
    return [
        (
            label,
            f"{figures['run_seconds']:.2f} s",
            _verdict(figures["run_seconds"] < 5, "< 5 s"),
        ),
        ("  with interpreter start", f"{figures['process_seconds']:.2f} s", ""),
    ]


def _pacing_rows(figures: dict[str, Any] | None) -> list[Row]:
    if figures is None:
        return []
    return [
        ("budget use under pacing", f"{figures['budget_use']:.1%}", ""),
        ("  of the sliding-window maximum", f"{figures['of_maximum']:.1%}", ""),
        ("  429 responses", f"{figures['rate_limited']:.0f}", ""),
    ]


def _stage_rows(figures: dict[str, Any] | None) -> list[Row]:
    if figures is None:
        return []
    rows: list[Row] = [
        (f"stage split, {figures['sample_orders']:,} orders", "us per order", "share")
    ]
    for name, value in figures["us_per_order"].items():
        rows.append((f"  {name}", f"{value:,.1f}", f"{figures['share'][name]:.1%}"))
    return rows

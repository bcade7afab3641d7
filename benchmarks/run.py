"""Benchmark the sync end to end on a synthetic DuckDB shop.

    python benchmarks/run.py --orders 1000000 --out results.json

Each figure is the median of ``--repeat`` runs:

- throughput: orders per second of a first sync of every order into the
  stand-in (a separate process on 127.0.0.1, no byte budget), with pacing
  off and 1,000 orders per batch;
- memory: peak resident memory of the sync process at a tenth of the
  orders and at all of them;
- stages: time per order of each stage, from a separate pass that calls the
  stage functions directly on a sample (``--stage-orders``);
- wire: request body bytes per order, from the batches of the stage pass
  and from the stand-in's request log in the pacing run;
- incremental: a second sync after ``--changed`` orders got a new cursor;
- pacing: the share of a byte budget used, as in ``benchmarks/pacing.py``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pacing
import processes
import results
import shop
import stages

from connector.config import load_settings
from connector.sink import PreparedOrder

MEASUREMENTS = ("throughput", "memory", "stages", "incremental", "pacing")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--orders", type=int, default=100_000, help="orders in the shop")
    add("--repeat", type=int, default=3, help="runs per figure; the median is kept")
    add("--only", choices=MEASUREMENTS, action="append", help="measure only this")
    add("--out", type=Path, default=Path("benchmark-results.json"), help="JSON file")
    add("--stage-orders", type=int, default=100_000, help="orders in the stage pass")
    add("--changed", type=int, default=1000, help="orders changed before the rerun")
    add("--pacing-orders", type=int, default=5000, help="orders in the pacing run")
    add("--pacing-budget-bytes", type=int, default=1_000_000, help="bytes per window")
    add("--pacing-window-seconds", type=float, default=2.0, help="window, seconds")
    add(
        "--duckdb-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="DuckDB setting added to the warehouse URL, e.g. memory_limit=64MB",
    )
    add("--workdir", type=Path, default=None, help="keep shops and state here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.orders < 10 or args.repeat < 1:
        print("error: use --orders 10 or more and --repeat 1 or more", file=sys.stderr)
        return 2
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="northbeam-bench-"))
    bench = _Benchmark(args, workdir)
    try:
        bench.measure(set(args.only or MEASUREMENTS))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    for line in results.table(bench.report):
        print(line)
    args.out.write_text(json.dumps(bench.report, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {args.out}")
    return 0


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class _Benchmark:
    """The shops, the stand-in port and the report of one benchmark run."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        # One port for every stand-in: the base URL is part of each order's
        # fingerprint, so a new URL would make the incremental run send every
        # order again.
        self.port = processes.free_port()
        self.duckdb = dict(item.split("=", 1) for item in args.duckdb_setting)
        self.report: dict[str, Any] = {
            "command": " ".join(["python", "benchmarks/run.py", *sys.argv[1:]]),
            "machine": results.machine(),
            "settings": {
                "orders": args.orders,
                "repeat": args.repeat,
                "batch_size": processes.BATCH_SIZE,
                "pacing": False,
                "duckdb": self.duckdb,
            },
        }

    def measure(self, selected: set[str]) -> None:
        """Run the selected measurements and fill the report."""
        full = self._shop("full", self.args.orders, record=True)
        peaks: dict[int, list[int]] = {}
        if "throughput" in selected:
            self.report["throughput"], peaks[self.args.orders] = self._throughput(full)
        if "memory" in selected:
            self.report["memory"] = self._memory(full, peaks)
        prepared: list[PreparedOrder] = []
        if "stages" in selected or "pacing" in selected:
            prepared = self._stages(full, record="stages" in selected)
        if "incremental" in selected:
            self.report["incremental"] = self._incremental(full)
        if "pacing" in selected:
            self.report["pacing"] = self._pacing(prepared)

    def _shop(self, name: str, orders: int, *, record: bool = False) -> Path:
        folder = self.workdir / name
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        shop.generate_shop(folder / "shop.duckdb", orders)
        seconds = time.perf_counter() - started
        (folder / "mapping.yaml").write_text(shop.MAPPING, encoding="utf-8")
        if record:
            counts = shop.shop_counts(folder / "shop.duckdb")
            self.report["shop"] = {**counts, "generate_seconds": round(seconds, 2)}
            _progress(f"shop generated: {self.report['shop']}")
        return folder

    def _first_syncs(self, folder: Path) -> list[dict[str, Any]]:
        """Run ``--repeat`` first syncs of every order, each into a new stand-in."""
        runs = []
        for _ in range(self.args.repeat):
            with processes.StandInProcess(self.port) as standin:
                config = processes.write_config(folder, standin.url, self.duckdb)
                processes.reset_state(folder)
                before = standin.cpu_seconds
                run = processes.run_sync(config)
                run["standin_cpu_seconds"] = standin.cpu_seconds - before
            runs.append(run)
        return runs

    def _throughput(self, folder: Path) -> tuple[dict[str, Any], list[int]]:
        runs = self._first_syncs(folder)
        sent = [run["summary"]["orders_sent"] for run in runs]
        figures = {
            "orders_per_second": _median_of(runs, "run_seconds", sent),
            "orders_per_cpu_second": _median_of(runs, "cpu_seconds", sent),
            "run_seconds": results.median([run["run_seconds"] for run in runs]),
            "runs": runs,
        }
        _progress(f"throughput: {figures['orders_per_second']:,.0f} orders/s")
        return figures, [run["peak_rss_bytes"] for run in runs]

    def _memory(self, full: Path, peaks: dict[int, list[int]]) -> dict[str, Any]:
        small_orders = self.args.orders // 10
        small = self._shop("small", small_orders)
        peaks[small_orders] = [
            run["peak_rss_bytes"] for run in self._first_syncs(small)
        ]
        if self.args.orders not in peaks:
            peaks[self.args.orders] = [
                run["peak_rss_bytes"] for run in self._first_syncs(full)
            ]
        medians = {size: results.median(runs) for size, runs in sorted(peaks.items())}
        figures = {
            "peak_rss_bytes": {str(size): int(peak) for size, peak in medians.items()},
            "growth": medians[self.args.orders] / medians[small_orders] - 1,
            "runs": {str(size): runs for size, runs in peaks.items()},
        }
        _progress(f"memory: {figures['peak_rss_bytes']}")
        return figures

    def _stages(self, folder: Path, *, record: bool) -> list[PreparedOrder]:
        sample = min(self.args.stage_orders, self.args.orders)
        if not record:
            sample = min(self.args.pacing_orders, self.args.orders)
        passes: list[stages.StageTimes] = []
        with processes.StandInProcess(self.port) as standin:
            config = processes.write_config(folder, standin.url, self.duckdb)
            settings = load_settings(config)
            for _ in range(self.args.repeat):
                passes.append(
                    stages.measure_stages(
                        settings, sample, keep=self.args.pacing_orders
                    )
                )
        if record:
            self.report["stages"] = _stage_medians(passes)
            self.report["wire"] = passes[0].wire()
            _progress(f"stages: {self.report['stages']['us_per_order']}")
        return passes[0].prepared

    def _incremental(self, folder: Path) -> dict[str, Any]:
        if not (folder / "state.db").exists():
            self._first_syncs(folder)
        # Every run starts from the same full sync: shop and state are copied.
        snapshot = folder / "snapshot"
        snapshot.mkdir(exist_ok=True)
        names = [p.name for p in folder.glob("*") if p.name.startswith(_SNAPSHOT)]
        for name in names:
            shutil.copy2(folder / name, snapshot / name)

        runs = []
        for number in range(self.args.repeat):
            for name in names:
                shutil.copy2(snapshot / name, folder / name)
            database = folder / "shop.duckdb"
            changed = shop.change_orders(database, self.args.changed, seed=100 + number)
            with processes.StandInProcess(self.port) as standin:
                config = processes.write_config(folder, standin.url, self.duckdb)
                runs.append({**processes.run_sync(config), "changed": changed})
        figures = _incremental_figures(runs)
        _progress(f"incremental: {figures['run_seconds']:.2f} s")
        return figures

    def _pacing(self, prepared: list[PreparedOrder]) -> dict[str, Any]:
        options = argparse.Namespace(
            budget_bytes=self.args.pacing_budget_bytes,
            window_seconds=self.args.pacing_window_seconds,
            batch_size=processes.BATCH_SIZE,
            max_in_flight=2,
        )
        runs = []
        for _ in range(self.args.repeat):
            result = pacing.run(options, prepared)
            figures = pacing.budget_figures(
                result, options.budget_bytes, options.window_seconds
            )
            runs.append({**vars(result), **figures})
        accepted = runs[0]["accepted_bytes"] / max(runs[0]["accepted_orders"], 1)
        self.report.setdefault("wire", {})["request_bytes_per_order_standin"] = round(
            accepted, 1
        )
        return {
            "orders": len(prepared),
            "budget_bytes": options.budget_bytes,
            "window_seconds": options.window_seconds,
            "budget_use": results.median([run["budget_use"] for run in runs]),
            "of_maximum": results.median([run["of_maximum"] for run in runs]),
            "rate_limited": results.median([run["rate_limited"] for run in runs]),
            "runs": runs,
        }


#: Files copied before each incremental run: the shop and the state file.
_SNAPSHOT = ("shop.duckdb", "state.db")


def _median_of(runs: list[dict[str, Any]], key: str, sent: list[int]) -> float:
    return round(
        results.median([n / run[key] for n, run in zip(sent, runs, strict=True)]), 1
    )


def _stage_medians(passes: list[stages.StageTimes]) -> dict[str, Any]:
    summaries = [times.summary() for times in passes]
    figures = dict(summaries[0])
    for key in ("us_per_order", "share"):
        figures[key] = {
            name: results.median([summary[key][name] for summary in summaries])
            for name in stages.STAGES
        }
    figures["total_us_per_order"] = results.median(
        [summary["total_us_per_order"] for summary in summaries]
    )
    return figures


def _incremental_figures(runs: list[dict[str, Any]]) -> dict[str, Any]:
    first = runs[0]
    return {
        "changed": first["changed"],
        "run_seconds": round(results.median([r["run_seconds"] for r in runs]), 3),
        "process_seconds": round(
            results.median([r["process_seconds"] for r in runs]), 3
        ),
        "rows_read": first["summary"]["rows_read"],
        "orders_sent": first["summary"]["orders_sent"],
        "mode": first["summary"]["mode"],
        "runs": runs,
    }


if __name__ == "__main__":
    sys.exit(main())

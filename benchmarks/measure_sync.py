"""Run one sync in this process and write its figures to a JSON file.

``benchmarks/run.py`` starts this script as a subprocess, so that the peak
resident memory it reports belongs to the sync alone::

    python benchmarks/measure_sync.py CONFIG RESULT.json [--dry-run FILE]

The result contains the run summary, the run's wall time and CPU seconds (both
without interpreter start and imports) and the process's peak resident set
size (``VmHWM`` from /proc, else ``ru_maxrss``).
"""

from __future__ import annotations

import time

_STARTED = time.perf_counter()

import argparse  # noqa: E402 - the clock starts before the imports
import json  # noqa: E402
import logging  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from connector import api  # noqa: E402
from connector.pipeline import RunOptions  # noqa: E402


def peak_rss_bytes() -> int:
    """Return the peak resident set size of this process in bytes."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="config file of the sync")
    parser.add_argument("result", type=Path, help="JSON file to write")
    parser.add_argument(
        "--dry-run", type=Path, default=None, help="write orders to this file"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    imported = time.perf_counter()
    cpu_before = time.process_time()
    options = RunOptions(dry_run_path=str(args.dry_run) if args.dry_run else None)
    summary = api.sync(args.config, options)
    finished = time.perf_counter()

    result = {
        "summary": summary.to_dict(),
        "import_seconds": imported - _STARTED,
        "run_seconds": finished - imported,
        "cpu_seconds": time.process_time() - cpu_before,
        "peak_rss_bytes": peak_rss_bytes(),
    }
    args.result.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run the stand-in in the foreground: ``python -m connector.standin --port 8700``."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from types import FrameType

from connector.standin.faults import Faults
from connector.standin.server import StandIn


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m connector.standin",
        description="Serve a local imitation of Northbeam's Orders API on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=8700, help="TCP port (0: any)")
    parser.add_argument("--api-key", default="test-key", help="expected API key")
    parser.add_argument(
        "--client-id", default="test-client", help="expected Data-Client-ID"
    )
    parser.add_argument(
        "--uat", action="store_true", help="validate only and store nothing"
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")

    _add_limit_options(parser)
    _add_fault_options(parser)
    return parser


def _add_limit_options(parser: argparse.ArgumentParser) -> None:
    limits = parser.add_argument_group("limits")
    limits.add_argument(
        "--budget-bytes",
        type=int,
        default=None,
        help="request-body bytes per API key in the sliding window; more gets "
        "429 (default: no limit)",
    )
    limits.add_argument(
        "--window-seconds",
        type=float,
        default=60.0,
        help="length of the sliding window in seconds (default: 60)",
    )
    limits.add_argument(
        "--max-orders",
        type=int,
        default=1000,
        help="orders per POST; more gets 413 (default: 1000)",
    )
    limits.add_argument(
        "--max-body-bytes",
        type=int,
        default=None,
        help="request body size in bytes; larger gets 413 (default: no limit)",
    )


def _add_fault_options(parser: argparse.ArgumentParser) -> None:
    faults = parser.add_argument_group("injected faults")
    faults.add_argument("--seed", type=int, default=0, help="seed of fault draws")
    faults.add_argument(
        "--error-rate",
        type=float,
        default=0.0,
        help="share of writes that get a 500 response",
    )
    faults.add_argument(
        "--drop-rate",
        type=float,
        default=0.0,
        help="share of writes stored, then closed without a response",
    )
    faults.add_argument(
        "--slow-rate",
        type=float,
        default=0.0,
        help="share of writes that get a late response",
    )
    faults.add_argument(
        "--slow-seconds",
        type=float,
        default=1.0,
        help="delay of a late response in seconds (default: 1)",
    )


def _stop_on_sigterm(stopped: threading.Event) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, handle)


def _build(args: argparse.Namespace) -> StandIn:
    faults = Faults(
        seed=args.seed,
        error_rate=args.error_rate,
        drop_rate=args.drop_rate,
        slow_rate=args.slow_rate,
        slow_seconds=args.slow_seconds,
    )
    return StandIn(
        port=args.port,
        api_key=args.api_key,
        client_id=args.client_id,
        budget_bytes=args.budget_bytes,
        window_seconds=args.window_seconds,
        max_orders_per_request=args.max_orders,
        max_body_bytes=args.max_body_bytes,
        store=not args.uat,
        faults=faults,
    )


def main(argv: list[str] | None = None) -> int:
    """Serve until Ctrl-C or SIGTERM, then return the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        standin = _build(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    stopped = threading.Event()
    _stop_on_sigterm(stopped)
    try:
        standin.start()
    except OSError as exc:
        print(f"error: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 1
    with standin:
        print(f"Northbeam stand-in listening on {standin.url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()
    print("Northbeam stand-in stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Measure how much of the byte budget the sink's pacer uses, and its 429 rate.

Starts the Northbeam stand-in on 127.0.0.1 with a sliding-window byte
budget, sends synthetic orders through ``OrderSink`` with pacing on and real
sleeps, and prints the duration, bytes, budget use and 429 share.

    python benchmarks/pacing.py --orders 20000 --budget-bytes 300000 \\
        --window-seconds 2

Budget use is ``bytes / (budget * duration / window)``. A sliding window
lets a client send a full budget at once at the start, so a perfect client
can reach ``budget * (duration / window + 1)`` bytes. The script also
prints the share of that maximum.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import sys
import time
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from connector.config import NorthbeamSettings, PacingSettings
from connector.sink import Batcher, OrderSink, PreparedOrder
from connector.standin import StandIn

_PRODUCTS = [
    ("SKU-ALOHA-01", "Aloha Jaffle, pineapple and ham"),
    ("SKU-CHEESE-02", "Three-cheese jaffle with chives"),
    ("SKU-BACON-03", "Bacon, egg and tomato relish jaffle"),
    ("SKU-VEGGIE-04", "Roast vegetable and feta jaffle"),
    ("SKU-CHOC-05", "Chocolate and banana dessert jaffle"),
    ("SKU-COFFEE-06", "Flat white, large, oat milk"),
    ("SKU-TEA-07", "Iced lemon tea, regular"),
    ("SKU-JUICE-08", "Cold-pressed orange and carrot juice"),
    ("SKU-SALAD-09", "Side salad with house dressing"),
    ("SKU-CHIPS-10", "Sweet potato chips with aioli"),
]
_CITIES = ["Philadelphia", "Brooklyn", "Chicago", "San Francisco", "New Orleans"]
_TAGS = ["online", "pickup", "delivery", "first-order", "loyalty", "gift"]


@dataclass
class Result:
    """Figures of one benchmark run."""

    duration: float
    bytes_sent: int
    requests: int
    rate_limited: int
    stored: int
    rejected: int
    #: Body bytes and orders of the requests the stand-in accepted (HTTP 200).
    accepted_bytes: int = 0
    accepted_orders: int = 0


def build_order(rng: random.Random, index: int) -> dict[str, Any]:
    """Build one valid v1 order of roughly 600 to 900 bytes."""
    lines = rng.sample(_PRODUCTS, rng.randint(2, 4))
    quantities = [rng.randint(1, 3) for _ in lines]
    prices = [round(rng.uniform(3.5, 18.0), 2) for _ in lines]
    products = [
        {"id": sku, "name": name, "quantity": quantity, "price": price}
        for (sku, name), quantity, price in zip(lines, quantities, prices, strict=True)
    ]
    subtotal = sum(q * p for q, p in zip(quantities, prices, strict=True))
    tax = round(subtotal * 0.08, 2)
    customer = rng.randint(1, 5000)
    return {
        "order_id": f"bench-{index:08d}",
        "customer_id": f"customer-{customer}",
        "time_of_purchase": (
            f"2026-11-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
            f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}-05:00"
        ),
        "currency": "USD",
        "purchase_total": round(subtotal + tax, 2),
        "tax": tax,
        "hashed_customer_email": _sha256(f"customer{customer}@example.com"),
        "hashed_customer_phone_number": _sha256(f"+1215555{customer:04d}"),
        "customer_shipping_address": {
            "address1": f"{rng.randint(1, 999)} Market Street",
            "city": rng.choice(_CITIES),
            "zip": f"{rng.randint(10000, 99999)}",
            "country_code": "USA",
        },
        "order_tags": rng.sample(_TAGS, rng.randint(1, 3)),
        "products": products,
    }


def build_orders(count: int, seed: int) -> list[PreparedOrder]:
    """Serialise ``count`` synthetic orders as the pipeline would."""
    rng = random.Random(seed)
    orders = []
    for index in range(count):
        document = build_order(rng, index)
        body = json.dumps(document, separators=(",", ":")).encode()
        order_id = document["order_id"]
        orders.append(PreparedOrder(order_id, order_id, body, _sha256(body.hex())))
    return orders


def run(args: argparse.Namespace, orders: list[PreparedOrder]) -> Result:
    """Send ``orders`` through a paced sink to a budgeted stand-in."""
    pacing = PacingSettings(
        budget_bytes=args.budget_bytes, window_seconds=args.window_seconds
    )
    with StandIn(
        budget_bytes=args.budget_bytes, window_seconds=args.window_seconds
    ) as server:
        settings = NorthbeamSettings(
            base_url=server.url,
            api_key=SecretStr("test-key"),
            client_id=SecretStr("test-client"),
            batch_size=args.batch_size,
            max_in_flight=args.max_in_flight,
            pacing=pacing,
        )
        batcher = Batcher(settings.batch_size, settings.max_batch_bytes)
        rejected = 0
        start = time.monotonic()
        with OrderSink(settings) as sink:
            outcomes = [o for order in orders for o in _submit(sink, batcher, order)]
            last = batcher.flush()
            if last is not None:
                outcomes += sink.submit(last)
            outcomes += sink.drain()
        duration = time.monotonic() - start
        rejected = sum(len(outcome.rejected) for outcome in outcomes)
        posts = [r for r in server.requests if r.method == "POST"]
        accepted = [r for r in posts if r.status == 200]
        return Result(
            duration=duration,
            bytes_sent=sum(r.body_bytes for r in posts),
            requests=len(posts),
            rate_limited=sum(1 for r in posts if r.status == 429),
            stored=server.order_count("v1"),
            rejected=rejected,
            accepted_bytes=sum(r.body_bytes for r in accepted),
            accepted_orders=sum(r.orders for r in accepted),
        )


def _submit(sink: OrderSink, batcher: Batcher, order: PreparedOrder) -> list[Any]:
    batch = batcher.add(order)
    return sink.submit(batch) if batch is not None else []


def budget_figures(
    result: Result, budget_bytes: int, window_seconds: float
) -> dict[str, float]:
    """Return budget use, the share of the maximum and the share of 429s.

    Budget use is ``bytes / (budget * duration / window)``. The maximum a
    perfect client reaches is ``budget * (duration / window + 1)``.
    """
    windows = result.duration / window_seconds
    return {
        "budget_use": result.bytes_sent / (budget_bytes * windows),
        "of_maximum": result.bytes_sent / (budget_bytes * (windows + 1)),
        "share_429": result.rate_limited / result.requests if result.requests else 0.0,
    }


def report(
    args: argparse.Namespace, orders: list[PreparedOrder], result: Result
) -> None:
    """Print the settings, the machine and the figures."""
    sizes = [len(order.body) for order in orders]
    figures = budget_figures(result, args.budget_bytes, args.window_seconds)
    use, of_max = figures["budget_use"], figures["of_maximum"]
    share_429 = figures["share_429"]
    print(
        f"machine        {platform.platform()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    print(
        f"settings       budget {args.budget_bytes:,} bytes per "
        f"{args.window_seconds:g} s, batch size {args.batch_size}, "
        f"max in flight {args.max_in_flight}"
    )
    print(
        f"orders         {len(orders):,} ({min(sizes)}-{max(sizes)} bytes, "
        f"mean {sum(sizes) / len(sizes):.0f})"
    )
    print(f"stored         {result.stored:,}, rejected {result.rejected}")
    print(f"duration       {result.duration:.1f} s")
    print(f"bytes sent     {result.bytes_sent:,}")
    print(f"budget use     {use:.1%} (bytes / (budget * duration / window))")
    print(f"of maximum     {of_max:.1%} (bytes / (budget * (duration / window + 1)))")
    print(f"requests       {result.requests:,}")
    print(f"429 responses  {result.rate_limited} ({share_429:.2%} of requests)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000, help="orders to send")
    parser.add_argument(
        "--budget-bytes",
        type=int,
        default=300_000,
        help="request-body bytes allowed per window, on both sides",
    )
    parser.add_argument(
        "--window-seconds", type=float, default=2.0, help="sliding window, seconds"
    )
    parser.add_argument("--batch-size", type=int, default=25, help="orders per request")
    parser.add_argument(
        "--max-in-flight", type=int, default=2, help="concurrent requests"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the synthetic orders"
    )
    args = parser.parse_args(argv)

    orders = build_orders(args.orders, args.seed)
    result = run(args, orders)
    report(args, orders, result)
    return 0 if result.stored == args.orders else 1


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


if __name__ == "__main__":
    sys.exit(main())

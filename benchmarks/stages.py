"""Time each stage of the per-order path on a sample of orders.

The pass calls the same functions as the pipeline, in the same order and on
the same chunks, but times each stage separately. The stages are read (order
rows and their child rows), map, hash, validate, serialise (JSON and
fingerprint), send (batches to the stand-in) and state (fingerprint lookups
and checkpoints in a scratch SQLite file). Production code is not
instrumented. Each pass starts with an empty phone-number cache, as a new
sync process does.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connector import pii
from connector.config import Settings
from connector.mapping import OrderMapper, load_mapping
from connector.prepare import OrderPreparer
from connector.records import Reject
from connector.sink import Batcher, BatchOutcome, OrderSink, PreparedOrder
from connector.source import CursorWindow, Warehouse
from connector.state import SQLiteStateStore
from connector.transform.identity import IdentityHasher
from connector.validate import OrderValidator

STAGES = ("read", "map", "hash", "validate", "serialise", "send", "state")

Rows = list[dict[str, Any]]
Children = dict[str, dict[str, Rows]]


@dataclass
class StageTimes:
    """Seconds spent per stage, the orders timed, and what was sent."""

    seconds: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(STAGES, 0.0)
    )
    orders: int = 0
    rejected: int = 0
    body_bytes: int = 0
    request_bytes: int = 0
    requests: int = 0
    prepared: list[PreparedOrder] = field(default_factory=list)

    def wire(self) -> dict[str, Any]:
        """Return order and request body bytes per order, from the batches sent."""
        return {
            "body_bytes_per_order": round(self.body_bytes / self.orders, 1),
            "request_bytes_per_order": round(self.request_bytes / self.orders, 1),
            "requests": self.requests,
        }

    def summary(self) -> dict[str, Any]:
        """Return microseconds per order and the share of each stage."""
        total = sum(self.seconds.values())
        per_order = {
            name: round(value / self.orders * 1e6, 2)
            for name, value in self.seconds.items()
        }
        return {
            "sample_orders": self.orders,
            "rejected": self.rejected,
            "us_per_order": per_order,
            "share": {
                name: round(value / total, 4) for name, value in self.seconds.items()
            },
            "total_us_per_order": round(total / self.orders * 1e6, 2),
            "orders_per_second_from_stages": round(self.orders / total, 1),
        }


class _Timer:
    """Add the time of a ``with`` block to one stage."""

    def __init__(self, times: StageTimes) -> None:
        self._times = times
        self._stage = ""
        self._start = 0.0

    def __call__(self, stage: str) -> _Timer:
        self._stage = stage
        return self

    def __enter__(self) -> None:
        self._start = time.perf_counter()

    def __exit__(self, *exc_info: object) -> None:
        self._times.seconds[self._stage] += time.perf_counter() - self._start


def measure_stages(settings: Settings, sample: int, keep: int = 0) -> StageTimes:
    """Run the per-order path over the first ``sample`` orders, stage by stage.

    ``keep`` prepared orders are kept on the result, for the pacing run.
    """
    api = settings.northbeam
    mapping = load_mapping(settings.resolve(settings.mapping), api.api_version)
    mapper = OrderMapper(mapping)
    hasher = IdentityHasher(mapping.identity_policy)
    preparer = OrderPreparer(
        mapper, hasher, OrderValidator(api.api_version), f"{api.url} {api.api_version}"
    )
    pii.clear_phone_cache()
    times = StageTimes()
    timer = _Timer(times)
    batcher = Batcher(api.batch_size, api.max_batch_bytes)

    with (
        Warehouse.connect(settings.warehouse, settings.base_dir) as warehouse,
        OrderSink(api) as sink,
        tempfile.TemporaryDirectory() as scratch,
        SQLiteStateStore(Path(scratch) / "state.db") as store,
    ):
        chunks = _read_chunks(warehouse, mapper, settings.warehouse.chunk_rows, timer)
        for rows, children in _limit(chunks, sample):
            with timer("state"):
                keys = [str(row[mapper.orders_spec.key]) for row in rows]
                store.fingerprints("bench", keys)
            # The pipeline submits a batch as soon as it is full, so the
            # stand-in works while the next batch is prepared.
            for start in range(0, len(rows), api.batch_size):
                part = rows[start : start + api.batch_size]
                prepared = _prepare_chunk(preparer, part, children, times)
                _send(prepared, batcher, sink, store, timer, times)
                if len(times.prepared) < keep:
                    times.prepared.extend(prepared[: keep - len(times.prepared)])
        _send([], batcher, sink, store, timer, times, final=True)
    return times


def _read_chunks(
    warehouse: Warehouse, mapper: OrderMapper, chunk_rows: int, timer: _Timer
) -> Generator[tuple[Rows, Children]]:
    spec = mapper.orders_spec
    stream = warehouse.stream_rows(spec, CursorWindow(), chunk_rows)
    try:
        while True:
            with timer("read"):
                rows = next(stream, None)
                if rows is None:
                    return
                children = _children(warehouse, mapper, rows)
            yield rows, children
    finally:
        # Closing the stream returns its connection, so that the DuckDB file
        # is released when the pass ends early.
        stream.close()  # type: ignore[attr-defined]


def _children(warehouse: Warehouse, mapper: OrderMapper, rows: Rows) -> Children:
    # Grouped by str(key), as the pipeline groups child rows.
    keys = [row[mapper.orders_spec.key] for row in rows]
    grouped: Children = {}
    for name, spec in mapper.child_specs.items():
        groups: dict[str, Rows] = {}
        for child in warehouse.rows_by_keys(spec, keys):
            groups.setdefault(str(child[spec.key]), []).append(child)
        grouped[name] = groups
    return grouped


def _limit(
    chunks: Generator[tuple[Rows, Children]], sample: int
) -> Iterator[tuple[Rows, Children]]:
    yielded = 0
    with closing(chunks):
        for rows, children in chunks:
            if yielded >= sample:
                return
            rows = rows[: sample - yielded]
            yielded += len(rows)
            yield rows, children


def _prepare_chunk(
    preparer: OrderPreparer,
    rows: Rows,
    children: Children,
    times: StageTimes,
) -> list[PreparedOrder]:
    """Prepare ``rows`` order by order, as the pipeline does, timing each step.

    Timing each order, rather than running one stage over many orders,
    keeps the objects each step creates as short-lived as in the pipeline,
    so the garbage collector runs as often as it does there.
    """
    key_column = preparer.mapper.orders_spec.key
    seconds = times.seconds
    prepared: list[PreparedOrder] = []
    for row in rows:
        started = time.perf_counter()
        key = str(row[key_column])
        own = {name: groups.get(key, []) for name, groups in children.items()}
        mapped = preparer.mapper.map(row, own)
        mapped_at = time.perf_counter()
        seconds["map"] += mapped_at - started
        if isinstance(mapped, Reject):
            times.rejected += 1
            continue

        mapped.document.update(preparer.hasher.apply(mapped.identity))
        hashed_at = time.perf_counter()
        ready = preparer.validator.validate(mapped.key, mapped.document)
        validated_at = time.perf_counter()
        seconds["hash"] += hashed_at - mapped_at
        seconds["validate"] += validated_at - hashed_at
        if isinstance(ready, Reject):
            times.rejected += 1
            continue

        prepared.append(preparer.package(mapped.key, ready))
        seconds["serialise"] += time.perf_counter() - validated_at
    times.orders += len(rows)
    times.body_bytes += sum(len(order.body) for order in prepared)
    return prepared


def _send(
    prepared: list[PreparedOrder],
    batcher: Batcher,
    sink: OrderSink,
    store: SQLiteStateStore,
    timer: _Timer,
    times: StageTimes,
    *,
    final: bool = False,
) -> None:
    outcomes: list[BatchOutcome] = []
    with timer("send"):
        batches = [batch for order in prepared if (batch := batcher.add(order))]
        last = batcher.flush() if final else None
        batches += [last] if last is not None else []
        for batch in batches:
            times.requests += 1
            times.request_bytes += batch.body_bytes
            outcomes += sink.submit(batch)
        if final:
            outcomes += sink.drain()
    with timer("state"):
        for outcome in outcomes:
            accepted = {order.key: order.fingerprint for order in outcome.accepted}
            store.checkpoint("bench", accepted=accepted, rejected=[])

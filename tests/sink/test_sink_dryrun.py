"""DryRunSink: orders written as JSON Lines, every order accepted."""

from __future__ import annotations

import io
import json
from pathlib import Path

from sink_fakes import make_batch

from connector.sink import DryRunSink


def test_dry_run_writes_one_order_per_line(tmp_path: Path) -> None:
    path = tmp_path / "out" / "orders.jsonl"
    batches = [make_batch(1, 3), make_batch(2, 2, start=3)]
    with DryRunSink(path) as sink:
        for batch in batches:
            sink.submit(batch)
        sink.drain()

    lines = path.read_bytes().splitlines()
    assert lines == [order.body for batch in batches for order in batch.orders]
    assert json.loads(lines[4])["order_id"] == "order-4"


def test_dry_run_accepts_every_order(tmp_path: Path) -> None:
    batch = make_batch(7, 4)
    with DryRunSink(tmp_path / "orders.jsonl") as sink:
        [outcome] = sink.submit(batch)
        drained = sink.drain()

    assert outcome.batch is batch
    assert outcome.accepted == batch.orders
    assert outcome.rejected == []
    assert drained == []
    assert sink.orders_written == 4


def test_dry_run_truncates_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    path.write_text("old line\n")
    with DryRunSink(path) as sink:
        sink.submit(make_batch(1, 1))

    assert len(path.read_bytes().splitlines()) == 1


def test_dry_run_leaves_given_stream_open() -> None:
    stream = io.BytesIO()
    sink = DryRunSink(stream)
    sink.submit(make_batch(1, 2))
    sink.close()
    sink.close()

    assert not stream.closed
    assert stream.getvalue().count(b"\n") == 2

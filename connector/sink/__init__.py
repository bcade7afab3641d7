"""Send prepared orders to the Northbeam Orders API.

Batched by count and body size (:class:`Batcher`), paced to a byte budget,
retried on transient failures, and split or rejected on invalid orders
(:class:`OrderSink`). :class:`DryRunSink` writes the orders to a file instead.
"""

from __future__ import annotations

from connector.sink.batch import Batch, BatchOutcome, PreparedOrder, Sink
from connector.sink.batcher import MAX_ORDERS_PER_REQUEST, Batcher
from connector.sink.dryrun import DryRunSink
from connector.sink.upsert import OrderSink

__all__ = [
    "MAX_ORDERS_PER_REQUEST",
    "Batch",
    "BatchOutcome",
    "Batcher",
    "DryRunSink",
    "OrderSink",
    "PreparedOrder",
    "Sink",
]

"""Deliver prepared orders: batch, upsert, and checkpoint what was acknowledged.

Every order read gets a sequence number. An order is *done* once Northbeam
acknowledged it, or it was rejected and reported, or it was skipped as
unchanged. The high-water mark moves only to the cursor of the last order of
a contiguous run of done orders, and it moves in the same state transaction
that stores the fingerprints and rejects of those orders, so a crash at any
point leaves state behind the truth, never ahead of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from connector.errors import RejectCeilingError
from connector.records import Reject
from connector.report import RejectReport
from connector.sink import Batch, Batcher, BatchOutcome, PreparedOrder
from connector.state import AckTracker, StateStore
from connector.summary import RunSummary

logger = logging.getLogger(__name__)

# Orders done without a request (unchanged, rejected locally) between two
# checkpoints; bounds the work a crash in a long quiet stretch repeats.
_LOCAL_CHECKPOINT_EVERY = 5000
# Below this many orders the reject ratio says little, so the ceiling waits.
_MIN_ORDERS_FOR_CEILING = 200


class Delivery:
    """Batch prepared orders into a sink and checkpoint acknowledged ones."""

    def __init__(
        self,
        *,
        sink: Any,
        batcher: Batcher,
        store: StateStore | None,
        sync_name: str,
        report: RejectReport,
        summary: RunSummary,
        max_reject_ratio: float,
        retry_keys: Iterable[str] = (),
        on_checkpoint: Callable[[], None] | None = None,
    ) -> None:
        self.sink = sink
        self.batcher = batcher
        self.store = store
        self.sync_name = sync_name
        self.report = report
        self.summary = summary
        self.max_reject_ratio = max_reject_ratio
        self.tracker = AckTracker()
        self.move_mark = False
        self.mark_floor: Any = None
        self.high_water_mark: Any = None
        self._retry_keys = set(retry_keys)
        self._on_checkpoint = on_checkpoint
        self._seq = 0
        self._batch_orders: dict[int, list[int]] = {}
        self._order_seq: dict[int, int] = {}
        self._accepted: dict[str, str] = {}
        self._rejects: list[Reject] = []
        self._local_done = 0
        self._seen = 0

    # -- intake -----------------------------------------------------------

    def add(
        self, cursor: Any, item: PreparedOrder | Reject | None, *, counted: bool = True
    ) -> None:
        """Take one order in read order; ``None`` means unchanged, skip it.

        ``counted=False`` skips an order already handled earlier in the run.
        """
        seq = self._seq
        self._seq += 1
        self.tracker.register(seq, cursor)

        if item is None:
            self.summary.unchanged += counted
            self._done_locally(seq)
            return
        self._seen += 1
        if isinstance(item, Reject):
            self._record_reject(item)
            self._done_locally(seq)
            return

        self._order_seq[id(item)] = seq
        batch = self.batcher.add(item)
        if batch is not None:
            self._submit(batch)

    def check_ceiling(self, *, final: bool = False) -> None:
        """Raise RejectCeilingError when new rejects exceed the allowed share."""
        seen = self._seen
        if seen == 0 or (not final and seen < _MIN_ORDERS_FOR_CEILING):
            return
        rejected = self.summary.rejected
        if rejected / seen <= self.max_reject_ratio:
            return
        raise RejectCeilingError(
            f"{rejected:,} of {seen:,} orders ({rejected / seen:.1%}) were "
            f"rejected, above the ceiling of {self.max_reject_ratio:.1%} "
            "(sync.max_reject_ratio). Accepted orders are checkpointed; read "
            "the reject report, fix the mapping or the data, and run again.",
            rejected=rejected,
            seen=seen,
        )

    def finish(self) -> None:
        """Send the last partial batch, wait for all answers, checkpoint."""
        batch = self.batcher.flush()
        if batch is not None:
            self._submit(batch)
        self._handle(self.sink.drain())
        self.checkpoint()

    # -- outcomes ---------------------------------------------------------

    def _submit(self, batch: Batch) -> None:
        self._batch_orders[batch.seq] = [
            self._order_seq.pop(id(order)) for order in batch.orders
        ]
        self.summary.batches += 1
        logger.debug("batch %d submitted: %d orders", batch.seq, len(batch.orders))
        self._handle(self.sink.submit(batch))

    def _handle(self, outcomes: list[BatchOutcome]) -> None:
        if not outcomes:
            return
        for outcome in outcomes:
            for order in outcome.accepted:
                self._accepted[order.key] = order.fingerprint
            self.summary.orders_sent += len(outcome.accepted)
            for _order, reject in outcome.rejected:
                self._record_reject(reject)
            for seq in self._batch_orders.pop(outcome.batch.seq):
                self.tracker.mark_done(seq)
            logger.debug(
                "batch %d acknowledged: %d accepted, %d rejected",
                outcome.batch.seq,
                len(outcome.accepted),
                len(outcome.rejected),
            )
        self.checkpoint()

    def _record_reject(self, reject: Reject) -> None:
        repeated = reject.order_key in self._retry_keys
        if repeated:
            self.summary.still_rejected += 1
        else:
            self.summary.rejected += 1
        logger.warning(
            "order rejected: key=%s stage=%s path=%s reason=%s",
            reject.order_key,
            reject.stage,
            reject.field_path or "-",
            reject.reason,
        )
        self.report.write(reject, repeated=repeated)
        self._rejects.append(reject)

    def _done_locally(self, seq: int) -> None:
        self.tracker.mark_done(seq)
        self._local_done += 1
        if self._local_done >= _LOCAL_CHECKPOINT_EVERY:
            self.checkpoint()

    # -- checkpoint -------------------------------------------------------

    def checkpoint(self, **marks: Any) -> None:
        """Store accepted fingerprints, rejects and the safe high-water mark."""
        self._local_done = 0
        if self.store is None:
            self._accepted.clear()
            self._rejects.clear()
            return

        kwargs: dict[str, Any] = dict(marks)
        if self.move_mark:
            mark = self.tracker.safe_mark()
            if mark is not None:
                if self.mark_floor is not None and mark < self.mark_floor:
                    mark = self.mark_floor
                self.high_water_mark = mark
                kwargs["high_water_mark"] = mark
        self.store.checkpoint(
            self.sync_name,
            accepted=self._accepted,
            rejected=self._rejects,
            **kwargs,
        )
        self._accepted = {}
        self._rejects = []
        if self._on_checkpoint is not None:
            self._on_checkpoint()

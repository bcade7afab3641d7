"""Deliver prepared orders: batch, upsert, and checkpoint what was acknowledged.

Every order read gets a sequence number. An order is *done* once Northbeam
acknowledged it, or it was rejected and reported, or it was skipped as
unchanged. The high-water mark moves only to the cursor of the last order of
a contiguous run of done orders. It moves in the same state transaction that
stores the fingerprints and rejects of those orders, so a crash at any point
leaves state behind the truth, never ahead of it.
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
# Below this many orders the reject ratio is too noisy, so the check waits.
_MIN_ORDERS_FOR_CEILING = 200
#: Rejects logged at WARNING per run, so that a bad mapping does not flood a
#: scheduler's log. The rest go to DEBUG, and every one to the reject report.
_LOGGED_REJECTS = 20


class Delivery:
    """Batch prepared orders into a sink and checkpoint acknowledged ones.

    Orders are taken in read order. Orders added before :meth:`start_window`
    never move the high-water mark, because they were picked by key, not by
    cursor. After it, the mark follows the contiguous run of done orders.
    """

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
        guard: Callable[[], None] | None = None,
        on_api_reject: Callable[[Reject], None] | None = None,
    ) -> None:
        self.sink = sink
        self.batcher = batcher
        self.store = store
        self.sync_name = sync_name
        self.report = report
        self.summary = summary
        self.max_reject_ratio = max_reject_ratio
        self.tracker = AckTracker()
        self.high_water_mark: Any = None
        self._move_mark = False
        self._mark_floor: Any = None
        self._mark_extras: dict[str, Any] = {}
        self._retry_keys = set(retry_keys)
        # Raises to stop the run (the lock was lost) before a send or write.
        self._guard = guard
        self._on_api_reject = on_api_reject
        self._seq = 0
        self._batch_orders: dict[int, list[int]] = {}
        self._order_seq: dict[int, int] = {}
        self._accepted: dict[str, str] = {}
        self._rejects: list[Reject] = []
        self._local_done = 0
        self._seen = 0

    def start_window(self, floor: Any, **mark_extras: Any) -> None:
        """Let the orders added from now on move the high-water mark.

        Orders added before (retried rejects, child changes) are all done
        by now, and their cursors must not count: a fresh tracker starts.
        The mark never goes below ``floor``, the stored mark. Each
        checkpoint that moves the mark also writes ``mark_extras``.

        Raises:
            RuntimeError: orders added earlier are still in flight.
        """
        if self.tracker.pending_count:
            raise RuntimeError(
                "start_window called with orders in flight; call finish() first"
            )
        self._seq = 0
        self.tracker = AckTracker()
        self._move_mark = True
        self._mark_floor = floor
        self._mark_extras = dict(mark_extras)

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
        key = item.order_key if isinstance(item, Reject) else item.key
        if key not in self._retry_keys:
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
        """Raise RejectCeilingError when new rejects exceed the allowed share.

        Only orders not rejected by an earlier run count, in the rejects and
        in the orders seen. Before raising, the batches in flight are
        awaited and checkpointed, so accepted orders are not sent again.
        """
        seen = self._seen
        if seen == 0 or (not final and seen < _MIN_ORDERS_FOR_CEILING):
            return
        rejected = self.summary.rejected
        if rejected / seen <= self.max_reject_ratio:
            return
        self._settle_in_flight()
        raise RejectCeilingError(
            f"{rejected:,} of {seen:,} orders ({rejected / seen:.1%}) were "
            f"rejected, above the ceiling of {self.max_reject_ratio:.1%} "
            "(sync.max_reject_ratio). Accepted orders are checkpointed; read "
            "the reject report, fix the mapping or the data, and run again.",
            rejected=rejected,
            seen=seen,
        )

    def finish(self) -> None:
        """Send the last partial batch, wait for every response, checkpoint."""
        batch = self.batcher.flush()
        if batch is not None:
            self._submit(batch)
        self._settle_in_flight()

    def _settle_in_flight(self) -> None:
        # Orders still in the batcher stay undone, so the mark stops before them.
        outcomes = self.sink.drain()
        if outcomes:
            self._handle(outcomes)
        else:
            self.checkpoint()

    # -- outcomes ---------------------------------------------------------

    def _submit(self, batch: Batch) -> None:
        self._batch_orders[batch.seq] = [
            self._order_seq.pop(id(order)) for order in batch.orders
        ]
        if self._guard is not None:
            self._guard()
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
                if self._on_api_reject is not None:
                    self._on_api_reject(reject)
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
        count = self.summary.rejected + self.summary.still_rejected
        level = logging.WARNING if count <= _LOGGED_REJECTS else logging.DEBUG
        logger.log(
            level,
            "order rejected: key=%s stage=%s path=%s reason=%s",
            reject.order_key,
            reject.stage,
            reject.field_path or "-",
            reject.reason,
        )
        if count == _LOGGED_REJECTS + 1:
            logger.warning(
                "more orders were rejected than the first %d logged; every "
                "reject is in the reject report %s, and -v logs each one",
                _LOGGED_REJECTS,
                self.report.path or "(none configured)",
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

        if self._guard is not None:
            self._guard()
        kwargs: dict[str, Any] = dict(marks)
        mark = self._safe_mark()
        if mark is not None:
            self.high_water_mark = mark
            kwargs["high_water_mark"] = mark
            kwargs.update(self._mark_extras)
        self.store.checkpoint(
            self.sync_name,
            accepted=self._accepted,
            rejected=self._rejects,
            **kwargs,
        )
        self._accepted = {}
        self._rejects = []

    def _safe_mark(self) -> Any:
        if not self._move_mark:
            return None
        mark = self.tracker.safe_mark()
        if mark is None:
            return None
        if self._mark_floor is not None and mark < self._mark_floor:
            return self._mark_floor
        return mark

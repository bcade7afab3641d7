"""How far Delivery moves the high-water mark while batches finish out of order.

These tests drive :class:`connector.delivery.Delivery` with a sink that
holds the first batch back while later ones finish, and a real SQLite state
store. After every checkpoint the stored mark must not pass an order whose
batch has not been answered.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from connector.delivery import Delivery
from connector.errors import RejectCeilingError
from connector.records import Reject
from connector.report import RejectReport
from connector.sink import Batch, Batcher, BatchOutcome, PreparedOrder
from connector.state import SQLiteStateStore
from connector.summary import RunSummary

NAME = "orders"


class HoldOneBatch:
    """A sink that accepts each batch at once, except one kept until drain.

    The batch kept back is the first one submitted after :meth:`hold_next`.
    """

    def __init__(self) -> None:
        self.held: list[Batch] = []
        self._hold_next = False

    def hold_next(self) -> None:
        self._hold_next = True

    def submit(self, batch: Batch) -> list[BatchOutcome]:
        if self._hold_next:
            self._hold_next = False
            self.held.append(batch)
            return []
        return [BatchOutcome(batch, accepted=list(batch.orders))]

    def drain(self) -> list[BatchOutcome]:
        held, self.held = self.held, []
        return [BatchOutcome(batch, accepted=list(batch.orders)) for batch in held]

    def close(self) -> None:
        return None


class RecordingStore(SQLiteStateStore):
    """A SQLite store that remembers the mark of every checkpoint."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.marks: list[object] = []

    def checkpoint(self, name: str, **kwargs: object) -> None:  # type: ignore[override]
        if "high_water_mark" in kwargs:
            self.marks.append(kwargs["high_water_mark"])
        super().checkpoint(name, **kwargs)  # type: ignore[arg-type]


def _order(key: str) -> PreparedOrder:
    return PreparedOrder(key=key, order_id=key, body=b"{}", fingerprint=f"fp-{key}")


def _delivery(
    store: SQLiteStateStore, sink: object, *, ratio: float = 1.0, batch_size: int = 5
) -> Delivery:
    return Delivery(
        sink=sink,
        batcher=Batcher(batch_size, 1_000_000),
        store=store,
        sync_name=NAME,
        report=RejectReport(None, "run"),
        summary=RunSummary(sync_name=NAME),
        max_reject_ratio=ratio,
    )


def test_revisited_cursor_never_moves_mark(tmp_path: Path) -> None:
    """A retried order with a far cursor must not lift the mark over unanswered ones."""
    store = RecordingStore(tmp_path / "state.db")
    sink = HoldOneBatch()
    delivery = _delivery(store, sink)
    # The revisit pass: one retried order whose cursor jumped to 100.
    delivery.add(100, _order("retried"))
    delivery.finish()

    delivery.start_window(5)
    sink.hold_next()
    for cursor in range(10, 20):
        delivery.add(cursor, _order(f"o{cursor}"))

    assert sink.held
    assert store.marks == []
    delivery.finish()
    assert store.marks == [19]


def test_mark_waits_for_first_batch(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path / "state.db")
    sink = HoldOneBatch()
    delivery = _delivery(store, sink)
    delivery.start_window(None)
    sink.hold_next()
    for cursor in range(1, 16):
        delivery.add(cursor, _order(f"o{cursor}"))

    # Batches 2 and 3 were answered, batch 1 was not: no mark yet.
    assert store.marks == []
    assert store.fingerprints(NAME, ["o6", "o11"]) == {"o6": "fp-o6", "o11": "fp-o11"}

    delivery.finish()
    assert store.marks == [15]


def test_mark_keeps_floor_during_lookback(tmp_path: Path) -> None:
    """Orders re-read below the stored mark never lower it."""
    store = RecordingStore(tmp_path / "state.db")
    delivery = _delivery(store, HoldOneBatch(), batch_size=1)
    delivery.start_window(50)
    delivery.add(40, None)
    delivery.checkpoint()

    assert store.marks == [50]


def test_local_reject_stored_with_mark(tmp_path: Path) -> None:
    """The mark passes a rejected order only in the checkpoint that stores it."""
    store = RecordingStore(tmp_path / "state.db")
    delivery = _delivery(store, HoldOneBatch())
    delivery.start_window(None)
    delivery.add(1, Reject(order_key="bad", stage="validation", reason="no products"))
    delivery.checkpoint()

    assert store.load(NAME).high_water_mark == 1
    assert [p.order_key for p in store.pending_rejects(NAME)] == ["bad"]


def test_ceiling_checkpoints_answered_batches(tmp_path: Path) -> None:
    """Before the ceiling error, batches in flight are awaited and stored."""
    store = RecordingStore(tmp_path / "state.db")
    sink = HoldOneBatch()
    delivery = _delivery(store, sink, ratio=0.1)
    delivery.start_window(None)
    sink.hold_next()
    for cursor in range(1, 6):
        delivery.add(cursor, _order(f"o{cursor}"))
    delivery.add(6, Reject(order_key="bad", stage="validation", reason="no products"))

    with pytest.raises(RejectCeilingError) as raised:
        delivery.check_ceiling(final=True)

    assert raised.value.rejected == 1
    assert raised.value.seen == 6
    assert store.load(NAME).high_water_mark == 6
    assert len(store.fingerprints(NAME, [f"o{n}" for n in range(1, 6)])) == 5
    assert [p.order_key for p in store.pending_rejects(NAME)] == ["bad"]


def test_rejects_past_twenty_log_at_debug(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A flood of rejects logs twenty warnings and one notice; all are stored."""
    caplog.set_level(logging.DEBUG, logger="connector.delivery")
    store = RecordingStore(tmp_path / "state.db")
    delivery = _delivery(store, HoldOneBatch())
    delivery.start_window(None)
    for cursor in range(30):
        reject = Reject(order_key=f"bad-{cursor}", stage="validation", reason="x")
        delivery.add(cursor, reject)
    delivery.finish()

    messages = [(r.levelno, r.getMessage()) for r in caplog.records]
    rejected = [level for level, text in messages if "order rejected" in text]
    notices = [text for _, text in messages if "more orders were rejected" in text]
    assert len(rejected) == 30
    assert rejected.count(logging.WARNING) == 20
    assert len(notices) == 1
    assert len(store.pending_rejects(NAME)) == 30

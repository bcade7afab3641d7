"""AckTracker moves the safe mark only over a contiguous run of done orders."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.state import AckTracker


def _tracker(cursors: list[object]) -> AckTracker:
    tracker = AckTracker()
    for seq, cursor in enumerate(cursors):
        tracker.register(seq, cursor)
    return tracker


def test_tracker_empty_has_no_mark() -> None:
    assert AckTracker().safe_mark() is None


def test_tracker_in_order_moves_mark() -> None:
    tracker = _tracker([10, 20, 30])

    tracker.mark_done(0)
    assert tracker.safe_mark() == 10
    tracker.mark_done(1)
    assert tracker.safe_mark() == 20


def test_tracker_gap_holds_mark() -> None:
    tracker = _tracker([10, 20, 30, 40])

    tracker.mark_done(1)
    tracker.mark_done(2)
    assert tracker.safe_mark() is None

    tracker.mark_done(0)
    assert tracker.safe_mark() == 30
    assert tracker.pending_count == 1


def test_tracker_batches_finish_out_of_order() -> None:
    """Three batches in flight, and the mark waits for the first one."""
    tracker = _tracker(list(range(100, 115)))
    batches = [range(0, 5), range(5, 10), range(10, 15)]

    tracker.mark_all_done(batches[2])
    assert tracker.safe_mark() is None
    tracker.mark_all_done(batches[0])
    assert tracker.safe_mark() == 104
    tracker.mark_all_done(batches[1])
    assert tracker.safe_mark() == 114
    assert tracker.pending_count == 0


def test_tracker_none_cursor_keeps_last_mark() -> None:
    """Orders without a cursor value never lower or clear the mark."""
    tracker = _tracker([5, None, 7, None])

    tracker.mark_all_done([0, 1])
    assert tracker.safe_mark() == 5
    tracker.mark_all_done([2, 3])
    assert tracker.safe_mark() == 7


def test_tracker_done_twice_has_no_effect() -> None:
    tracker = _tracker([1, 2])

    tracker.mark_done(0)
    tracker.mark_done(0)

    assert tracker.safe_mark() == 1
    assert tracker.pending_count == 1


def test_tracker_register_out_of_order_raises() -> None:
    tracker = _tracker([1, 2])

    with pytest.raises(ValueError, match="Expected 2"):
        tracker.register(3, 3)


def test_tracker_unregistered_done_raises() -> None:
    tracker = _tracker([1, 2])

    with pytest.raises(ValueError, match="never registered"):
        tracker.mark_done(2)
    with pytest.raises(ValueError, match="never registered"):
        tracker.mark_done(-1)


def test_tracker_first_seq_offsets_numbering() -> None:
    tracker = AckTracker(first_seq=50)
    tracker.register(50, "a")

    tracker.mark_done(50)

    assert tracker.safe_mark() == "a"
    assert tracker.next_seq == 51


def test_tracker_long_run_with_window() -> None:
    """200,000 orders acknowledged out of order within a window of 5,000."""
    total, window = 200_000, 5_000
    rng = random.Random(7)
    tracker = AckTracker()
    for start in range(0, total, window):
        seqs = list(range(start, start + window))
        for seq in seqs:
            tracker.register(seq, seq * 10)
        rng.shuffle(seqs)
        tracker.mark_all_done(seqs)
        assert tracker.safe_mark() == (start + window - 1) * 10

    assert tracker.pending_count == 0
    assert tracker.next_seq == total


@given(st.permutations(list(range(40))))
def test_tracker_mark_is_longest_done_prefix(order: list[int]) -> None:
    cursors = [seq * 2 for seq in range(40)]
    tracker = _tracker(list(cursors))
    done: set[int] = set()

    for seq in order:
        tracker.mark_done(seq)
        done.add(seq)
        prefix = 0
        while prefix in done:
            prefix += 1
        expected = cursors[prefix - 1] if prefix else None
        assert tracker.safe_mark() == expected


def test_tracker_batches_in_flight_match_reference() -> None:
    """Batches of 500 keep arriving while up to four finish in random order."""
    rng = random.Random(11)
    tracker = AckTracker()
    in_flight: list[range] = []
    done: set[int] = set()
    prefix = 0
    for start in range(0, 60_000, 500):
        batch = range(start, start + 500)
        for seq in batch:
            tracker.register(seq, seq)
        in_flight.append(batch)
        while len(in_flight) > 4:
            finished = in_flight.pop(rng.randrange(len(in_flight)))
            tracker.mark_all_done(finished)
            done.update(finished)
        while prefix in done:
            prefix += 1
        assert tracker.safe_mark() == (prefix - 1 if prefix else None)

    assert tracker.pending_count == 60_000 - prefix

"""Contiguous acknowledgement of orders, to know how far the mark may move.

The pipeline numbers orders in read order (0, 1, 2, ...) and registers each
with its cursor value. An order is done when its batch is acknowledged, or
when it is skipped or rejected locally. Batches finish out of order when
several are in flight. So the high-water mark may move only to the cursor of
the last order in the contiguous run of done orders from the start, because
every order read up to that point is then safely stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Cutting the covered front copies the rest of the lists. The cut waits until
# the front is this long and at least half of the lists, so the copying costs
# O(1) per order.
_MIN_CUT = 1024


class AckTracker:
    """Track done orders by sequence number and return the safe mark.

    Each call takes O(1) amortised time. Lists indexed by ``seq - base``
    hold the cursor and done flag of each order, a head index marks the end
    of the contiguous done run, and the covered front is cut off once it is
    at least half of the lists.
    """

    def __init__(self, first_seq: int = 0) -> None:
        self._base = first_seq
        self._head = 0
        self._cursors: list[Any] = []
        self._done = bytearray()
        self._mark: Any = None

    @property
    def next_seq(self) -> int:
        """Sequence number that :meth:`register` expects next."""
        return self._base + len(self._cursors)

    @property
    def pending_count(self) -> int:
        """Registered orders not yet covered by the contiguous done run."""
        return len(self._cursors) - self._head

    def register(self, seq: int, cursor: Any) -> None:
        """Register order ``seq``, read with cursor value ``cursor``.

        Raises:
            ValueError: ``seq`` is not :attr:`next_seq`.
        """
        if seq != self.next_seq:
            raise ValueError(
                f"order seq {seq} was registered out of order. Expected "
                f"{self.next_seq}, because orders are numbered in read order"
            )
        self._cursors.append(cursor)
        self._done.append(0)

    def mark_done(self, seq: int) -> None:
        """Mark order ``seq`` done. Marking it again has no effect.

        Raises:
            ValueError: ``seq`` was never registered.
        """
        index = seq - self._base
        if index >= len(self._done) or seq < 0:
            raise ValueError(
                f"order seq {seq} was marked done but never registered. "
                f"Registered orders end before {self.next_seq}"
            )
        if index < self._head:
            return
        self._done[index] = 1
        self._advance()

    def mark_all_done(self, seqs: Iterable[int]) -> None:
        """Mark each order in ``seqs`` done."""
        for seq in seqs:
            self.mark_done(seq)

    def safe_mark(self) -> Any:
        """Return the cursor up to which every order is done, or None.

        That is the cursor of the highest seq such that every seq up to it
        is done. Orders registered with a ``None`` cursor (rows without a
        cursor value, retried rejects) never lower the mark: it stays at the
        last non-None cursor of the run.
        """
        return self._mark

    def _advance(self) -> None:
        while self._head < len(self._done) and self._done[self._head]:
            cursor = self._cursors[self._head]
            if cursor is not None:
                self._mark = cursor
            self._head += 1
        if self._head >= _MIN_CUT and 2 * self._head >= len(self._done):
            del self._cursors[: self._head]
            del self._done[: self._head]
            self._base += self._head
            self._head = 0

"""Group prepared orders into batches bounded by order count and body size."""

from __future__ import annotations

from connector.sink.batch import Batch, PreparedOrder

#: Northbeam accepts at most this many orders in one request.
MAX_ORDERS_PER_REQUEST = 1000


class Batcher:
    """Collect orders until a batch is full by count or by request body size.

    The body size counts the JSON array brackets and commas, so a batch's
    request body never exceeds ``max_bytes``, with one exception: an order
    larger than ``max_bytes`` on its own still goes out, alone in its batch.
    The API may respond to it with 413, which rejects that order.
    """

    def __init__(self, max_orders: int, max_bytes: int, *, first_seq: int = 1) -> None:
        if not 1 <= max_orders <= MAX_ORDERS_PER_REQUEST:
            raise ValueError(
                f"max_orders is {max_orders}; it must be between 1 and "
                f"{MAX_ORDERS_PER_REQUEST}, the API's limit per request"
            )
        if max_bytes < 3:
            raise ValueError(f"max_bytes is {max_bytes}; it must be at least 3")
        self.max_orders = max_orders
        self.max_bytes = max_bytes
        self._next_seq = first_seq
        self._orders: list[PreparedOrder] = []
        self._size = 2

    def add(self, order: PreparedOrder) -> Batch | None:
        """Add one order; return a batch when one is complete, else ``None``.

        When ``order`` does not fit in the open batch, the open batch is
        returned and ``order`` starts the next one.
        """
        added = len(order.body) + (1 if self._orders else 0)
        if self._orders and self._size + added > self.max_bytes:
            full = self._close()
            self._append(order)
            return full

        self._append(order)
        if len(self._orders) >= self.max_orders or self._size >= self.max_bytes:
            return self._close()
        return None

    def flush(self) -> Batch | None:
        """Return the open batch, if it contains any order."""
        if not self._orders:
            return None
        return self._close()

    def _append(self, order: PreparedOrder) -> None:
        self._size += len(order.body) + (1 if self._orders else 0)
        self._orders.append(order)

    def _close(self) -> Batch:
        batch = Batch(seq=self._next_seq, orders=self._orders)
        self._next_seq += 1
        self._orders = []
        self._size = 2
        return batch

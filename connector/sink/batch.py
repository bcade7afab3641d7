"""Records passed to and from a sink, and the interface every sink offers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from connector.records import Reject


@dataclass(slots=True)
class PreparedOrder:
    """One validated order, serialised and ready to send.

    ``body`` is the order as compact JSON (UTF-8), exactly as it is sent.
    ``fingerprint`` is the digest state stores once Northbeam accepted it.
    """

    key: str
    order_id: str
    body: bytes
    fingerprint: str

    def __repr__(self) -> str:
        # The body can hold names and addresses, so it never prints.
        return (
            f"PreparedOrder(key={self.key!r}, order_id={self.order_id!r}, "
            f"body=<{len(self.body)} bytes>)"
        )


@dataclass(slots=True)
class Batch:
    """Orders sent together; ``seq`` numbers batches in the order they were built."""

    seq: int
    orders: list[PreparedOrder]

    @property
    def body_bytes(self) -> int:
        """Size of the JSON array request body that contains these orders."""
        return request_body_size(self.orders)


@dataclass(slots=True)
class BatchOutcome:
    """Result of one batch, order by order.

    Each order of the batch is in exactly one of ``accepted`` and
    ``rejected``, as the same object that was submitted.
    """

    batch: Batch
    accepted: list[PreparedOrder] = field(default_factory=list)
    rejected: list[tuple[PreparedOrder, Reject]] = field(default_factory=list)


class Sink(Protocol):
    """Destination of batches: the Orders API, or a file in a dry run."""

    def submit(self, batch: Batch) -> list[BatchOutcome]: ...

    def drain(self) -> list[BatchOutcome]: ...

    def close(self) -> None: ...


def encode_request_body(orders: list[PreparedOrder]) -> bytes:
    """Join pre-serialised orders into one JSON array."""
    return b"[" + b",".join(order.body for order in orders) + b"]"


def request_body_size(orders: list[PreparedOrder]) -> int:
    """Return the length of ``encode_request_body(orders)`` without building it."""
    if not orders:
        return 2
    return 2 + sum(len(order.body) for order in orders) + len(orders) - 1

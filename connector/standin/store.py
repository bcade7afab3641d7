"""Thread-safe order storage, write counts and request log of the stand-in."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connector.standin.shapes import ApiVersion

Order = dict[str, Any]


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request the stand-in received; bodies are never kept.

    ``status`` is None when the connection was closed without a response.
    ``orders`` counts the orders in the body when it was parsed, else 0.
    ``timestamp`` is the stand-in's clock reading when the response was ready.
    """

    method: str
    path: str
    status: int | None
    orders: int
    body_bytes: int
    timestamp: float
    fault: str | None = None


def copy_json(value: Any) -> Any:
    """Return a deep copy of decoded JSON, faster than ``copy.deepcopy``."""
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    return value


class OrderStore:
    """Orders per API version keyed by ``order_id``; the last write wins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._orders: dict[ApiVersion, dict[str, Order]] = {"v1": {}, "v2": {}}
        self._writes: dict[ApiVersion, Counter[str]] = {
            "v1": Counter(),
            "v2": Counter(),
        }
        self._log: list[RequestRecord] = []

    def upsert(self, version: ApiVersion, orders: Iterable[Order]) -> None:
        """Store whole orders, replacing any stored order with the same id.

        The store keeps the given objects, so the caller must not change
        them afterwards (the service passes freshly parsed JSON).
        """
        with self._lock:
            for order in orders:
                order_id = order["order_id"]
                self._orders[version][order_id] = order
                self._writes[version][order_id] += 1

    def update(
        self,
        version: ApiVersion,
        change: Callable[[Mapping[str, Order]], dict[str, Order] | None],
    ) -> None:
        """Call ``change`` with the stored orders under the lock and store its result.

        ``change`` must not modify what it is given. It returns new order
        objects to store (all or nothing), or None to store nothing.
        """
        with self._lock:
            stored = self._orders[version]
            changed = change(stored)
            if changed is None:
                return
            for order_id, order in changed.items():
                stored[order_id] = order
                self._writes[version][order_id] += 1

    def orders(self, version: ApiVersion) -> dict[str, Order]:
        """Return a deep copy of the stored orders of one version."""
        with self._lock:
            return {
                order_id: copy_json(order)
                for order_id, order in self._orders[version].items()
            }

    def shared_orders(self, version: ApiVersion) -> list[Order]:
        """Return the stored order objects themselves, for read-only use.

        Stored orders are replaced on every write and never changed in place,
        so a caller may read them without the lock but must not modify them.
        """
        with self._lock:
            return list(self._orders[version].values())

    def count(self, version: ApiVersion) -> int:
        """Return how many orders of one version are stored."""
        with self._lock:
            return len(self._orders[version])

    def write_counts(self, version: ApiVersion) -> dict[str, int]:
        """Return how many accepted writes each order id received."""
        with self._lock:
            return dict(self._writes[version])

    def log(self, record: RequestRecord) -> None:
        """Append one record to the request log."""
        with self._lock:
            self._log.append(record)

    def requests(self) -> list[RequestRecord]:
        """Return a copy of the request log, oldest first."""
        with self._lock:
            return list(self._log)

    def reset(self) -> None:
        """Forget every order, write count and log record."""
        with self._lock:
            for version in ("v1", "v2"):
                self._orders[version].clear()
                self._writes[version].clear()
            self._log.clear()

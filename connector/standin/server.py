"""The ``StandIn`` context manager: a local imitation of Northbeam's Orders API."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import replace
from types import TracebackType
from typing import Self

from connector.standin.budget import ByteBudget
from connector.standin.faults import FaultPlan, Faults
from connector.standin.handler import StandInHTTPServer
from connector.standin.service import Options, OrdersService
from connector.standin.shapes import ApiVersion
from connector.standin.store import Order, RequestRecord

HOST = "127.0.0.1"

logger = logging.getLogger(__name__)


class StandIn:
    """Imitation of Northbeam's Orders API on 127.0.0.1, served from a thread.

    Args:
        port: TCP port, where 0 picks a free one (read it from ``url``).
        api_key, client_id: expected ``Authorization`` and ``Data-Client-ID``
            header values. Any other value in either gives a bare 401.
        budget_bytes: request-body bytes allowed per API key in any sliding
            ``window_seconds``, or None for no limit. Above it: 429.
        max_orders_per_request: orders per POST; more gives 413.
        max_body_bytes: request body size limit; above it: 413. None: none.
        store: False imitates UAT, which validates and stores nothing.
        faults: injected 5xx responses, dropped connections and slow responses.
        generic_400: respond to validation failures with a 400 whose body
            names no order, instead of the error envelope.
        reject_order_ids: order ids reported invalid even when valid,
            imitating server-side rules a client cannot check.
        clock: seconds, monotonic; drives the sliding window and timestamps.
        on_store: called with the log record of each write request that
            stored orders, on the request's thread, after storing and
            before responding; a test can stop its client at that moment.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        api_key: str = "test-key",
        client_id: str = "test-client",
        budget_bytes: int | None = None,
        window_seconds: float = 60.0,
        max_orders_per_request: int = 1000,
        max_body_bytes: int | None = None,
        store: bool = True,
        faults: Faults | None = None,
        generic_400: bool = False,
        reject_order_ids: Collection[str] = (),
        clock: Callable[[], float] = time.monotonic,
        on_store: Callable[[RequestRecord], None] | None = None,
    ) -> None:
        options = Options(
            api_key=api_key,
            client_id=client_id,
            max_orders_per_request=max_orders_per_request,
            max_body_bytes=max_body_bytes,
            store=store,
            generic_400=generic_400,
            reject_order_ids=frozenset(reject_order_ids),
        )
        self._service = OrdersService(
            options,
            budget=ByteBudget(budget_bytes, window_seconds, clock),
            faults=faults or Faults(),
            clock=clock,
        )
        self._service.on_store = on_store
        self._port = port
        self._server: StandInHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        state = self.url if self._server else "stopped"
        return f"<StandIn {state}>"

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:54321``."""
        if self._server is None:
            raise RuntimeError("The stand-in is not running. Call start() first.")
        return f"http://{HOST}:{self._server.server_address[1]}"

    def start(self) -> Self:
        """Bind the port and serve requests from a daemon thread."""
        if self._server is not None:
            return self
        self._server = StandInHTTPServer((HOST, self._port), self._service)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"standin-{self._server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        logger.info("stand-in listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving, end open connections and release the port."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        logger.info("stand-in stopped")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def orders(self, version: ApiVersion = "v1") -> dict[str, Order]:
        """Return a copy of the stored orders of one API version by order id."""
        return self._service.store.orders(version)

    def order_count(self, version: ApiVersion = "v1") -> int:
        """Return how many orders of one API version are stored, without copying."""
        return self._service.store.count(version)

    def write_counts(self, version: ApiVersion = "v1") -> dict[str, int]:
        """Return how many accepted writes each order id received."""
        return self._service.store.write_counts(version)

    @property
    def requests(self) -> list[RequestRecord]:
        """Copy of the request log, oldest first (bodies are never kept)."""
        return self._service.store.requests()

    @property
    def faults(self) -> Faults:
        """Injected faults. Assigning new ones restarts the script and the seed."""
        return self._service.fault_plan.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._service.fault_plan = FaultPlan(faults)

    @property
    def reject_order_ids(self) -> frozenset[str]:
        """Order ids reported invalid even when valid, assignable while running."""
        return self._service.options.reject_order_ids

    @reject_order_ids.setter
    def reject_order_ids(self, order_ids: Collection[str]) -> None:
        options = self._service.options
        self._service.options = replace(options, reject_order_ids=frozenset(order_ids))

    def budget_used(self, api_key: str | None = None) -> int:
        """Return the bytes charged to a key inside the current window."""
        key = self._service.options.api_key if api_key is None else api_key
        return self._service.budget.used_bytes(key)

    def reset(self) -> None:
        """Forget stored orders, write counts, the request log and the budget.

        Injected faults keep their position in the script and random draws.
        """
        self._service.store.reset()
        self._service.budget.reset()

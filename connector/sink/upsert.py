"""Upsert batches to the Orders API, several requests in flight at once."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from types import TracebackType

import httpx

from connector.config import NorthbeamSettings
from connector.errors import FatalSinkError, RetryableSinkError
from connector.sink.batch import Batch, BatchOutcome
from connector.sink.client import OrdersClient
from connector.sink.pacer import Pacer
from connector.sink.retry import TRANSIENT_ERRORS, RetryingPoster
from connector.sink.sender import UNAUTHORIZED_MESSAGE, BatchSender

logger = logging.getLogger(__name__)

#: With pacing on, a batch is sent as requests of at most this share of the
#: budget. While a request waits for room, up to its own size of the window
#: stays unused, so small requests keep budget use high.
MAX_REQUEST_SHARE_OF_BUDGET = 0.1


class OrderSink:
    """Send batches on ``settings.max_in_flight`` worker threads.

    Outcomes come back on the caller's thread, from :meth:`submit` and
    :meth:`drain`, in completion order, which may differ from submit order.
    An error raised by a worker (HTTP 401, retries exhausted) is raised from
    the next :meth:`submit` or :meth:`drain`, and the batches still in
    flight then stop before their next request.

    ``sleep`` and ``clock`` drive every wait (backoff, Retry-After, pacing)
    and are meant to be replaced together in tests.
    """

    def __init__(
        self,
        settings: NorthbeamSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = OrdersClient(settings, transport=transport)
        self.pacer = Pacer(settings.pacing, clock=clock, sleep=sleep)
        self._stopped = threading.Event()
        self._poster = RetryingPoster(
            self._client, self.pacer, settings, sleep=sleep, stopped=self._stopped
        )
        self._sender = BatchSender(
            self._poster, max_request_bytes=_max_request_bytes(settings)
        )
        self._max_in_flight = settings.max_in_flight
        self._executor = ThreadPoolExecutor(
            max_workers=settings.max_in_flight, thread_name_prefix="northbeam-sink"
        )
        self._in_flight: set[Future[BatchOutcome]] = set()
        self._closed = False

    @property
    def requests_sent(self) -> int:
        """Requests sent so far, retries and split halves included."""
        return self._poster.requests

    @property
    def rate_limited(self) -> int:
        """Requests that got an HTTP 429 response so far."""
        return self._poster.rate_limited

    def submit(self, batch: Batch) -> list[BatchOutcome]:
        """Queue ``batch``; return the outcomes of batches finished so far.

        Blocks while ``max_in_flight`` batches are in flight. When a worker
        failed, its error is raised here and ``batch`` is not queued.
        """
        self._raise_if_closed()
        if len(self._in_flight) >= self._max_in_flight:
            wait(self._in_flight, return_when=FIRST_COMPLETED)
        outcomes = self._collect()
        self._in_flight.add(self._executor.submit(self._sender.send, batch))
        return outcomes

    def drain(self) -> list[BatchOutcome]:
        """Wait for every batch in flight and return their outcomes."""
        self._raise_if_closed()
        wait(self._in_flight)
        return self._collect()

    def close(self) -> None:
        """Stop the workers and close the connections.

        Waits for requests in flight to end. Outcomes not collected yet are
        dropped; their orders were not checkpointed, so the next run sends
        them again.
        """
        if self._closed:
            return
        self._closed = True
        if self._in_flight:
            self._stopped.set()
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._client.close()

    def verify_credentials(self) -> str:
        """Request today's orders to check the credentials; return the API host.

        Raises:
            FatalSinkError: HTTP 401, or another status retrying will not fix.
            RetryableSinkError: the API could not be reached, or it returned 429 or 5xx.
        """
        host = self._client.host
        try:
            status = self._client.read_status(dt.datetime.now(dt.UTC).date())
        except TRANSIENT_ERRORS as exc:
            raise RetryableSinkError(
                f"Could not reach the orders API at {host} "
                f"({type(exc).__name__}). Check northbeam.base_url and the "
                "network, then try again."
            ) from exc

        if 200 <= status < 300:
            return host
        if status == 401:
            raise FatalSinkError(UNAUTHORIZED_MESSAGE, status=401)
        if status == 429 or status >= 500:
            raise RetryableSinkError(
                f"The orders API at {host} returned HTTP {status} for a read "
                "of today's orders. Try again later.",
                status=status,
            )
        raise FatalSinkError(
            f"The orders API at {host} returned HTTP {status} for a read of "
            "today's orders. Check northbeam.base_url and northbeam.api_version.",
            status=status,
        )

    def __enter__(self) -> OrderSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"OrderSink({self._client!r}, in_flight={len(self._in_flight)})"

    def _collect(self) -> list[BatchOutcome]:
        """Take finished futures; raise the first worker error found."""
        done = {future for future in self._in_flight if future.done()}
        self._in_flight -= done
        outcomes: list[BatchOutcome] = []
        errors: list[BaseException] = []
        for future in done:
            error = future.exception()
            if error is None:
                outcomes.append(future.result())
            else:
                errors.append(error)
        if errors:
            self._stopped.set()
            # A fatal error points at what to fix, so it wins over a transient one.
            errors.sort(key=lambda error: not isinstance(error, FatalSinkError))
            raise errors[0]
        return outcomes

    def _raise_if_closed(self) -> None:
        if self._closed:
            raise RuntimeError("OrderSink is closed; create a new one")


def _max_request_bytes(settings: NorthbeamSettings) -> int | None:
    if not settings.pacing.enabled:
        return None
    return int(settings.pacing.budget_bytes * MAX_REQUEST_SHARE_OF_BUDGET)

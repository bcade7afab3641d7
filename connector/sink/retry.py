"""Send one request body until the Orders API returns a final response.

Retried: 5xx and 408 responses, timeouts, refused and reset connections, and
a server that closes the connection without a response. Such a server may
have stored the orders first, which is harmless because POST is an upsert.
These retries use exponential backoff with full jitter and count against
``NorthbeamSettings.max_attempts``.

A 429 is retried too, but counts against its own bound,
:data:`MAX_RATE_LIMITED_RETRIES`, because it means "later", not "failed".
The wait is the server's ``Retry-After``, set on the pacer so that every
sender of the sink waits, not only the one that got the 429.

The loop is written out rather than built on ``stamina``: the waits must go
through the injected ``sleep`` and the shared pacer, 429s need a separate
count, and stamina's jitter is additive where this uses full jitter.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable

import httpx

from connector.config import NorthbeamSettings
from connector.errors import FatalSinkError, RetryableSinkError
from connector.sink.batch import PreparedOrder, encode_request_body
from connector.sink.client import OrdersClient
from connector.sink.pacer import Pacer
from connector.sink.responses import Answer, Kind, classify, sanitise

logger = logging.getLogger(__name__)

#: 429 responses tolerated for one request before the batch fails.
MAX_RATE_LIMITED_RETRIES = 20
#: Upper bound of the first backoff; each later failure doubles it.
BACKOFF_BASE_SECONDS = 0.5

TRANSIENT_ERRORS = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)

_WHAT_TO_DO = (
    "Nothing was lost, because the high-water mark was not moved past this "
    "batch. Run the sync again later."
)


class RetryingPoster:
    """Post request bodies, retrying transient failures; thread-safe."""

    def __init__(
        self,
        client: OrdersClient,
        pacer: Pacer,
        settings: NorthbeamSettings,
        *,
        sleep: Callable[[float], None],
        stopped: threading.Event,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self._pacer = pacer
        self._max_attempts = settings.max_attempts
        self._max_backoff = settings.max_backoff_seconds
        # A sliding window never needs a wait longer than one window.
        self._max_rate_wait = max(settings.max_backoff_seconds, pacer.window_seconds)
        self._sleep = sleep
        self._stopped = stopped
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._count_lock = threading.Lock()
        #: Requests sent, and how many of them got a 429 response.
        self.requests = 0
        self.rate_limited = 0

    def post(self, seq: int, orders: list[PreparedOrder]) -> Answer:
        """Post ``orders`` as one request and return the final response.

        Every response except 429, 408 and 5xx is final, including 4xx errors,
        which the caller handles.

        Raises:
            RetryableSinkError: retries ran out, or the sink is closing.
        """
        body = encode_request_body(orders)
        failures = 0
        rate_limits = 0
        while True:
            self._raise_if_stopped(seq, len(orders))
            answer, error = self._attempt(seq, body)
            if answer is not None and answer.kind is Kind.RATE_LIMITED:
                rate_limits += 1
                self._wait_rate_limited(seq, len(orders), answer, rate_limits)
                continue
            if answer is not None and answer.kind is not Kind.SERVER_ERROR:
                return answer

            failures += 1
            last = error or _describe_status(answer)
            status = answer.status if answer is not None else None
            if failures >= self._max_attempts:
                raise _exhausted(
                    seq, len(orders), failures, last, status, self._client.host
                )
            delay = self.backoff_seconds(failures)
            logger.warning(
                "batch %d: request of %d orders failed (%s), attempt %d of %d; "
                "retrying in %.1f s",
                seq,
                len(orders),
                last,
                failures,
                self._max_attempts,
                delay,
            )
            self._sleep(delay)

    def backoff_seconds(self, failures: int) -> float:
        """Return a full-jitter backoff after ``failures`` failed attempts."""
        ceiling = BACKOFF_BASE_SECONDS * 2 ** min(failures - 1, 30)
        return self._rng.uniform(0.0, min(self._max_backoff, ceiling))

    def _attempt(self, seq: int, body: bytes) -> tuple[Answer | None, str | None]:
        """Send once; return the response's class, or ``None`` and the error."""
        slot = self._pacer.acquire(len(body))
        with self._count_lock:
            self.requests += 1
        try:
            response = self._client.post_orders(body)
        except TRANSIENT_ERRORS as exc:
            return None, sanitise(f"{type(exc).__name__}: {exc}")
        except httpx.TransportError as exc:
            raise FatalSinkError(
                f"Batch {seq}: the request could not be sent "
                f"({type(exc).__name__}: {sanitise(str(exc))}). Check "
                "northbeam.base_url."
            ) from exc
        finally:
            self._pacer.finish(slot)
        return classify(response), None

    def _wait_rate_limited(
        self, seq: int, count: int, answer: Answer, rate_limits: int
    ) -> None:
        with self._count_lock:
            self.rate_limited += 1
        if rate_limits > MAX_RATE_LIMITED_RETRIES:
            raise RetryableSinkError(
                f"Batch {seq}: a request of {count} orders was rate limited "
                f"(HTTP 429) {rate_limits} times in a row. Another sync or "
                "backfill may be using the same API key; lower "
                f"northbeam.pacing.budget_bytes. {_WHAT_TO_DO}",
                status=429,
            )
        if answer.retry_after is not None:
            wait = min(answer.retry_after, self._max_rate_wait)
        else:
            wait = self.backoff_seconds(rate_limits)
        self._pacer.pause(wait)

    def _raise_if_stopped(self, seq: int, count: int) -> None:
        if self._stopped.is_set():
            raise RetryableSinkError(
                f"Batch {seq}: {count} orders were not sent because the sink "
                f"stopped after an earlier error. {_WHAT_TO_DO}"
            )


def _describe_status(answer: Answer | None) -> str:
    if answer is None:
        return "no response"
    if answer.message:
        return f"HTTP {answer.status}, server message: {answer.message}"
    return f"HTTP {answer.status}"


def _exhausted(
    seq: int, count: int, attempts: int, last: str, status: int | None, host: str
) -> RetryableSinkError:
    hint = ""
    if last.startswith("ConnectError"):
        # A connection refused or unresolved on every attempt is likely a
        # wrong address rather than an outage.
        hint = (
            f" If {host} is not the API you meant, or nothing listens there, "
            "fix northbeam.base_url or northbeam.environment."
        )
    return RetryableSinkError(
        f"Batch {seq}: a request of {count} orders to {host} failed {attempts} "
        f"times; the last attempt failed with {last}.{hint} {_WHAT_TO_DO}",
        status=status,
    )

"""Pace request bodies to a byte budget over a sliding window.

Northbeam limits each API key to a number of request-body bytes in any
sliding window (30 MB per 60 s) and responds with 429 beyond it. The pacer
keeps every sender of one sink under ``PacingSettings.budget_bytes`` per
``window_seconds``, which is this sync's share of the key.

A request counts from the moment it is admitted. Its window slot ends one
window after its response arrived, not after it was sent. The server
received the body before that moment, so every window the server measures
contains no more bytes than the pacer allowed. Requests that got a 429 or
failed count too, because the pacer cannot tell whether the server charged
them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from connector.config import PacingSettings

logger = logging.getLogger(__name__)

#: Share of the budget kept after each 429, and the floor it never goes below.
_SHRINK_FACTOR = 0.9
_MIN_BUDGET_SHARE = 0.5
#: Share of the budget won back after each window without a 429.
_RECOVERY_STEP = 0.05
#: Waits for the budget at least this long are logged, at most one line per
#: _REPORT_EVERY_SECONDS.
_REPORTED_WAIT_SECONDS = 5.0
_REPORT_EVERY_SECONDS = 30.0


@dataclass(slots=True)
class Slot:
    """Bytes admitted for one request.

    ``finished_at`` is set when the response arrives or the request fails.
    """

    nbytes: int
    finished_at: float | None = None


class Pacer:
    """Admit requests so their bodies stay within a sliding byte budget.

    Thread-safe. ``clock`` and ``sleep`` are injectable, and they go
    together: a test that replaces ``sleep`` with a function that does not
    really wait should pass a clock that it advances.

    With pacing disabled, no request waits for the budget, but a pause set
    by :meth:`pause` after a 429 still delays every sender.
    """

    def __init__(
        self,
        settings: PacingSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.enabled = settings.enabled
        self.budget_bytes = settings.budget_bytes
        self.window_seconds = settings.window_seconds
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._slots: list[Slot] = []
        self._paused_until = 0.0
        self._share = 1.0
        self._calm_since = clock()
        self._reported_at = -_REPORT_EVERY_SECONDS

    @property
    def effective_budget(self) -> int:
        """Bytes allowed per window now, after shrinking for recent 429s."""
        return int(self.budget_bytes * self._share)

    def acquire(self, nbytes: int) -> Slot:
        """Block until a body of ``nbytes`` fits the budget, then admit it.

        A body larger than the whole budget is admitted alone, once no
        other request is in the window, because it could never fit
        otherwise. Pass the returned slot to :meth:`finish` when the request ends.
        """
        served_pause = 0.0
        while True:
            with self._lock:
                now = self._clock()
                if self._paused_until > max(now, served_pause):
                    served_pause = self._paused_until
                    wait = self._paused_until - now
                else:
                    wait = self._admit(now, nbytes)
                    if wait == 0.0:
                        slot = Slot(nbytes)
                        self._slots.append(slot)
                        return slot
                    self._report_wait(now, wait)
            self._sleep(wait)

    def _report_wait(self, now: float, wait: float) -> None:
        # A run paced for minutes would otherwise log nothing and look hung.
        if wait < _REPORTED_WAIT_SECONDS:
            return
        if now - self._reported_at < _REPORT_EVERY_SECONDS:
            return
        self._reported_at = now
        logger.info(
            "pacing: waiting %.0f s for room in the byte budget of %d bytes "
            "per %g s (northbeam.pacing.budget_bytes, this sync's share of "
            "the API key's limit)",
            wait,
            self.effective_budget,
            self.window_seconds,
        )

    def finish(self, slot: Slot) -> None:
        """Record that the request of ``slot`` ended, with a response or an error."""
        with self._lock:
            slot.finished_at = self._clock()

    def pause(self, seconds: float) -> None:
        """Hold every sender for ``seconds`` after a 429, and shrink the budget."""
        with self._lock:
            now = self._clock()
            # Senders that get 429 together shrink the budget once, not each.
            if self._paused_until <= now:
                self._share = max(_MIN_BUDGET_SHARE, self._share * _SHRINK_FACTOR)
            self._paused_until = max(self._paused_until, now + seconds)
            self._calm_since = now
        logger.info(
            "rate limited: pausing requests for %.1f s; budget now %d bytes per %.0f s",
            seconds,
            self.effective_budget,
            self.window_seconds,
        )

    def _admit(self, now: float, nbytes: int) -> float:
        """Return 0.0 when ``nbytes`` fits now, else the seconds to wait."""
        self._expire(now)
        self._recover(now)
        if not self.enabled or not self._slots:
            return 0.0

        budget = self.effective_budget
        used = sum(slot.nbytes for slot in self._slots)
        if used + nbytes <= budget:
            return 0.0
        # A body over the whole budget needs the window to empty first.
        return self._wait_for_room(now, min(used + nbytes - budget, used))

    def _wait_for_room(self, now: float, excess: int) -> float:
        # Finished slots leave the window in the order they finished. Slots
        # still in flight keep their bytes until they finish, so when only
        # they could make room, poll briefly.
        ends = sorted(
            (slot.finished_at + self.window_seconds, slot.nbytes)
            for slot in self._slots
            if slot.finished_at is not None
        )
        freed = 0
        for end, nbytes in ends:
            freed += nbytes
            if freed >= excess:
                return max(end - now, 1e-3)
        return min(self.window_seconds / 50, 0.05)

    def _expire(self, now: float) -> None:
        horizon = now - self.window_seconds
        self._slots = [
            slot
            for slot in self._slots
            if slot.finished_at is None or slot.finished_at > horizon
        ]

    def _recover(self, now: float) -> None:
        if self._share >= 1.0 or now - self._calm_since < self.window_seconds:
            return
        self._share = min(1.0, self._share + _RECOVERY_STEP)
        self._calm_since = now

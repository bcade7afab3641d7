"""Sliding-window budget of request-body bytes per API key."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable


class ByteBudget:
    """Admit request bodies while a key's bytes in the window fit the budget.

    Northbeam allows 30 MB of request body per API key in any sliding
    60 seconds. A request is charged when it is admitted; a request that
    would exceed the budget is not charged and gets a wait in seconds.
    """

    def __init__(
        self,
        budget_bytes: int | None,
        window_seconds: float,
        clock: Callable[[], float],
    ) -> None:
        if budget_bytes is not None and budget_bytes < 1:
            raise ValueError("budget_bytes must be at least 1, or None")
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        self.budget_bytes = budget_bytes
        self.window_seconds = window_seconds
        self._clock = clock
        self._spent: dict[str, deque[tuple[float, int]]] = {}
        self._lock = threading.Lock()

    def fits_at_all(self, size: int) -> bool:
        """Return whether a body of ``size`` bytes fits an empty window."""
        return self.budget_bytes is None or size <= self.budget_bytes

    def admit(self, key: str, size: int) -> int | None:
        """Charge ``size`` bytes to ``key``; return None, or the seconds to wait.

        The wait is rounded up to whole seconds and is at least 1.
        """
        if self.budget_bytes is None:
            return None
        with self._lock:
            now = self._clock()
            spent = self._spent.setdefault(key, deque())
            while spent and spent[0][0] <= now - self.window_seconds:
                spent.popleft()
            used = sum(size for _, size in spent)
            if used + size <= self.budget_bytes:
                spent.append((now, size))
                return None
            return self._wait_seconds(spent, used + size, now)

    def _wait_seconds(
        self, spent: deque[tuple[float, int]], needed: int, now: float
    ) -> int:
        assert self.budget_bytes is not None
        for charged_at, size in spent:
            needed -= size
            if needed <= self.budget_bytes:
                return max(1, math.ceil(charged_at + self.window_seconds - now))
        return max(1, math.ceil(self.window_seconds))

    def used_bytes(self, key: str) -> int:
        """Return the bytes charged to ``key`` inside the current window."""
        with self._lock:
            now = self._clock()
            spent = self._spent.get(key, deque())
            cutoff = now - self.window_seconds
            return sum(size for charged_at, size in spent if charged_at > cutoff)

    def reset(self) -> None:
        """Forget every charge."""
        with self._lock:
            self._spent.clear()

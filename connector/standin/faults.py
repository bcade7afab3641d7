"""Injected faults: error statuses, dropped connections and slow responses.

A fault applies to one write request (POST or PATCH of orders) that passed
authentication. The ``script`` is used first, one entry per request, in
order. After it runs out, each request draws one number from
``random.Random(seed)``, so a single-threaded client sees the same faults on
every run.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

#: A scripted fault: an HTTP status to respond with instead of processing,
#: ``"drop"`` (store the batch, then close the connection without a
#: response), ``"close"`` (close the connection without storing or
#: responding), ``"slow"`` (process, then respond after ``slow_seconds``) or
#: ``"ok"`` (process normally, as does the status 200).
FaultAction = int | Literal["drop", "close", "slow", "ok"]

_ACTION_NAMES = ("drop", "close", "slow", "ok")


@dataclass(frozen=True)
class Faults:
    """Which faults the stand-in injects into write requests.

    Rates are probabilities per request and must sum to at most 1.
    ``error_rate`` responds 500, ``drop_rate`` stores the batch and closes
    the connection without a response, and ``slow_rate`` responds after
    ``slow_seconds``.
    """

    seed: int = 0
    error_rate: float = 0.0
    drop_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 1.0
    script: Sequence[FaultAction] = ()

    def __post_init__(self) -> None:
        rates = (self.error_rate, self.drop_rate, self.slow_rate)
        if any(not 0.0 <= rate <= 1.0 for rate in rates) or sum(rates) > 1.0:
            raise ValueError(
                "Faults rates must each be between 0 and 1 and sum to at most 1"
            )
        if self.slow_seconds < 0:
            raise ValueError("Faults.slow_seconds must not be negative")
        for action in self.script:
            _check_action(action)


def _check_action(action: object) -> None:
    if isinstance(action, bool):
        raise ValueError(f"invalid scripted fault {action!r}")
    if isinstance(action, int) and 100 <= action <= 599:
        return
    if action in _ACTION_NAMES:
        return
    raise ValueError(
        f"invalid scripted fault {action!r}: use an HTTP status (100-599) "
        "or one of 'drop', 'close', 'slow', 'ok'"
    )


class FaultPlan:
    """Thread-safe source of the fault for each write request."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._script: deque[FaultAction] = deque(faults.script)
        # Seeded on purpose: tests need the same faults on every run.
        self._random = random.Random(faults.seed)  # noqa: S311
        self._lock = threading.Lock()

    @property
    def remaining_script(self) -> list[FaultAction]:
        """Scripted faults not used yet."""
        with self._lock:
            return list(self._script)

    def next_action(self) -> FaultAction | None:
        """Return the fault for the next write request, or None for none."""
        with self._lock:
            action = self._script.popleft() if self._script else self._draw()
        if action in ("ok", 200):
            return None
        return action

    def _draw(self) -> FaultAction | None:
        faults = self.faults
        if not (faults.error_rate or faults.drop_rate or faults.slow_rate):
            return None
        draw = self._random.random()
        if draw < faults.error_rate:
            return 500
        if draw < faults.error_rate + faults.drop_rate:
            return "drop"
        if draw < faults.error_rate + faults.drop_rate + faults.slow_rate:
            return "slow"
        return None

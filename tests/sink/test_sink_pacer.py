"""Pacer: sliding-window byte budget, pauses after 429 and adaptation."""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass

import pytest
from sink_fakes import FakeClock

from connector.config import PacingSettings
from connector.sink.pacer import Pacer


@dataclass
class _Sent:
    admitted: float
    answered: float
    nbytes: int


def _pacer(clock: FakeClock, budget: int = 10_000, window: float = 10.0) -> Pacer:
    settings = PacingSettings(budget_bytes=budget, window_seconds=window)
    return Pacer(settings, clock=clock, sleep=clock.sleep)


def _send(pacer: Pacer, clock: FakeClock, nbytes: int, duration: float) -> _Sent:
    slot = pacer.acquire(nbytes)
    admitted = clock()
    clock.advance(duration)
    pacer.finish(slot)
    return _Sent(admitted, clock(), nbytes)


def _max_window_bytes(sent: list[_Sent], window: float, *, at_answer: bool) -> int:
    """Return the most bytes the server could see in one sliding window.

    The server receives each body somewhere between admission and response,
    so both ends are checked.
    """
    times = [s.answered if at_answer else s.admitted for s in sent]
    worst = 0
    for end in times:
        inside = [
            s.nbytes
            for s, t in zip(sent, times, strict=True)
            if end - window < t <= end
        ]
        worst = max(worst, sum(inside))
    return worst


def test_pacer_keeps_every_window_within_budget(clock: FakeClock) -> None:
    """Random sizes and request durations never put more than the budget in a window."""
    rng = random.Random(7)
    pacer = _pacer(clock, budget=10_000, window=10.0)
    sent = [
        _send(pacer, clock, rng.randint(200, 4000), rng.uniform(0, 3))
        for _ in range(300)
    ]

    assert _max_window_bytes(sent, 10.0, at_answer=False) <= 10_000
    assert _max_window_bytes(sent, 10.0, at_answer=True) <= 10_000
    assert clock.sleeps, "the budget should have made some requests wait"


def test_pacer_uses_most_of_the_budget(clock: FakeClock) -> None:
    """Instant requests fill each window instead of waiting needlessly."""
    pacer = _pacer(clock, budget=10_000, window=10.0)
    sent = [_send(pacer, clock, 1000, 0.0) for _ in range(100)]

    elapsed = sent[-1].admitted - sent[0].admitted
    assert elapsed == 90.0


def test_pacer_disabled_never_waits(clock: FakeClock) -> None:
    settings = PacingSettings(enabled=False, budget_bytes=1000, window_seconds=10)
    pacer = Pacer(settings, clock=clock, sleep=clock.sleep)
    for _ in range(50):
        pacer.finish(pacer.acquire(900))

    assert clock.sleeps == []


def test_pacer_admits_oversized_body_alone(clock: FakeClock) -> None:
    pacer = _pacer(clock, budget=10_000, window=10.0)

    first = _send(pacer, clock, 500, 1.0)
    huge = _send(pacer, clock, 25_000, 1.0)
    after = _send(pacer, clock, 500, 1.0)

    assert huge.admitted == first.answered + 10.0
    assert after.admitted == huge.answered + 10.0


def test_pacer_pause_holds_next_request(clock: FakeClock) -> None:
    pacer = _pacer(clock)
    pacer.pause(7.0)
    pacer.finish(pacer.acquire(100))

    assert clock.sleeps == [7.0]


def test_pacer_pause_applies_when_disabled(clock: FakeClock) -> None:
    settings = PacingSettings(enabled=False)
    pacer = Pacer(settings, clock=clock, sleep=clock.sleep)
    pacer.pause(3.0)
    pacer.acquire(100)

    assert clock.sleeps == [3.0]


def test_pacer_pause_shrinks_budget_once_per_pause(clock: FakeClock) -> None:
    pacer = _pacer(clock, budget=10_000)
    pacer.pause(5.0)
    pacer.pause(5.0)

    assert pacer.effective_budget == 9_000


def test_pacer_budget_shrink_has_floor(clock: FakeClock) -> None:
    pacer = _pacer(clock, budget=10_000)
    for _ in range(30):
        pacer.pause(1.0)
        clock.advance(2.0)

    assert pacer.effective_budget == 5_000


def test_pacer_budget_recovers_after_calm_windows(clock: FakeClock) -> None:
    pacer = _pacer(clock, budget=10_000, window=10.0)
    pacer.pause(1.0)
    assert pacer.effective_budget == 9_000

    for _ in range(5):
        clock.advance(10.0)
        pacer.finish(pacer.acquire(10))
    assert pacer.effective_budget == 10_000


def test_pacer_threads_stay_within_budget() -> None:
    """Four threads on a real clock never exceed the budget in any window."""
    budget, window = 6_000, 0.1
    pacer = Pacer(PacingSettings(budget_bytes=budget, window_seconds=window))
    sent: list[_Sent] = []
    lock = threading.Lock()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(8):
            nbytes = rng.randint(500, 2500)
            slot = pacer.acquire(nbytes)
            admitted = time.monotonic()
            pacer.finish(slot)
            with lock:
                sent.append(_Sent(admitted, time.monotonic(), nbytes))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(sent) == 32
    assert _max_window_bytes(sent, window, at_answer=False) <= budget


def test_pacer_logs_long_waits(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="connector.sink.pacer")
    pacer = _pacer(clock, budget=10_000, window=60.0)
    for _ in range(8):
        _send(pacer, clock, 5_000, 0.1)

    waits = [r for r in caplog.records if "waiting" in r.getMessage()]
    assert 1 <= len(waits) < 8
    assert "northbeam.pacing.budget_bytes" in waits[0].getMessage()
    assert "10000 bytes per 60 s" in waits[0].getMessage()


def test_pacer_skips_short_waits(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="connector.sink.pacer")
    pacer = _pacer(clock, budget=10_000, window=2.0)
    for _ in range(8):
        _send(pacer, clock, 5_000, 0.1)

    assert "waiting" not in caplog.text

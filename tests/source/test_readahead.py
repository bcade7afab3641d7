"""ReadAhead: chunks read one ahead in a worker thread, in order, errors kept."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from connector.source import ReadAhead


def _numbers(count: int, produced: list[int]) -> Iterator[int]:
    for number in range(count):
        produced.append(number)
        yield number


def test_pairs_each_chunk_with_its_load_in_order() -> None:
    pairs = list(ReadAhead(iter([[1, 2], [], [3]]), len))

    assert pairs == [([1, 2], 2), ([], 0), ([3], 1)]


def test_reads_at_most_one_chunk_ahead() -> None:
    produced: list[int] = []
    ahead = iter(ReadAhead(_numbers(10, produced), lambda n: n))

    first = next(ahead)
    time.sleep(0.05)  # time for the worker to run ahead, if it would
    assert first == (0, 0)
    assert produced == [0, 1]

    second = next(ahead)
    time.sleep(0.05)
    assert second == (1, 1)
    assert produced == [0, 1, 2]


def test_source_and_load_run_outside_the_consumer_thread() -> None:
    threads: set[str] = set()

    def load(chunk: int) -> int:
        threads.add(threading.current_thread().name)
        return chunk

    list(ReadAhead(range(3), load))

    assert threads == {"read-ahead"}


def test_source_error_after_earlier_chunks() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("page 3 failed")

    seen: list[int] = []
    with pytest.raises(ValueError, match="page 3 failed"):
        for chunk, _ in ReadAhead(failing(), lambda n: n):
            seen.append(chunk)

    assert seen == [1, 2]


def test_load_error_is_raised_for_its_chunk() -> None:
    def load(chunk: int) -> int:
        if chunk == 2:
            raise KeyError("children of 2")
        return chunk

    seen: list[int] = []
    with pytest.raises(KeyError, match="children of 2"):
        for chunk, _ in ReadAhead(range(5), load):
            seen.append(chunk)

    assert seen == [0, 1]


def test_early_exit_closes_source() -> None:
    produced: list[int] = []
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            yield from _numbers(1000, produced)
        finally:
            closed.set()

    before = threading.active_count()
    for chunk, _ in ReadAhead(source(), lambda n: n):
        if chunk == 3:
            break

    assert closed.is_set()
    # Chunk 4 may or may not have been read ahead when the loop stopped.
    assert produced in ([0, 1, 2, 3], [0, 1, 2, 3, 4])
    assert threading.active_count() == before


def test_consumer_error_stops_the_worker() -> None:
    produced: list[int] = []
    before = threading.active_count()

    with pytest.raises(RuntimeError):
        for chunk, _ in ReadAhead(_numbers(1000, produced), lambda n: n):
            if chunk == 1:
                raise RuntimeError("mapping failed")

    assert len(produced) <= 3
    assert threading.active_count() == before


def test_empty_source_yields_nothing() -> None:
    assert list(ReadAhead(iter(()), len)) == []


def test_early_exit_skips_long_read() -> None:
    reading = threading.Event()
    release = threading.Event()
    finished = threading.Event()

    def load(chunk: int) -> int:
        if chunk == 1:
            reading.set()
            release.wait(10)
            finished.set()
        return chunk

    ahead = ReadAhead(range(3), load)
    ahead.join_seconds = 0.1
    for _chunk, _ in ahead:
        assert reading.wait(5)
        started = time.monotonic()
        break
    waited = time.monotonic() - started

    assert waited < 5
    assert not finished.is_set()
    release.set()
    assert finished.wait(5)

"""Read the next chunk in a worker thread while the current one is processed.

The warehouse driver runs its query without holding the GIL, so the next
page and its child rows are read while the sync maps, hashes and validates
the rows it has. Only one chunk is read ahead of the one being processed.
A paged reader also keeps the page it fetched next, so about three chunks
are in memory at once. The consumer gets the chunks and any read error in
the order a plain loop would.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

Chunk = TypeVar("Chunk")
Extra = TypeVar("Extra")

_END = object()

# Items the worker puts on the queue: a chunk with its extra, the end, or
# an error.
_Item = tuple[str, object, object]


class ReadAhead(Generic[Chunk, Extra]):
    """Iterate ``(chunk, load(chunk))`` pairs, one chunk read ahead in a thread.

    ``source`` and ``load`` run only in the worker thread, never two at a
    time. An exception they raise is raised by the iteration, after the
    pairs read before it. Leaving the iteration early, by ``break`` or an
    exception, stops the worker, waits up to ``join_seconds`` for its
    current read to finish and then closes ``source`` if it is a generator.
    """

    #: Seconds to wait, when the iteration is left early, for a read that is
    #: still running before leaving it to finish on its own.
    join_seconds = 5.0

    def __init__(self, source: Iterable[Chunk], load: Callable[[Chunk], Extra]) -> None:
        self._source = iter(source)
        self._load = load
        # One permit per chunk the worker may read; the consumer returns a
        # permit when it takes a chunk, so at most one waits for it.
        self._permits = threading.Semaphore(1)
        self._handed: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._stopping = False

    def __iter__(self) -> Iterator[tuple[Chunk, Extra]]:
        worker = threading.Thread(target=self._work, name="read-ahead", daemon=True)
        worker.start()
        try:
            while True:
                kind, chunk, extra = self._handed.get()
                if kind == "end":
                    return
                if kind == "error":
                    assert isinstance(chunk, BaseException)
                    raise chunk
                self._permits.release()
                yield chunk, extra  # type: ignore[misc]
        finally:
            self._stopping = True
            self._permits.release()
            worker.join(self.join_seconds)
            if worker.is_alive():
                # A long statement (a heavy view, say) must not hold up an
                # interrupted run. The worker stops after that read, and the
                # source is closed when it is garbage collected.
                logger.info("stopped waiting for a read that is still running")
            else:
                close = getattr(self._source, "close", None)
                if close is not None:
                    close()

    def _work(self) -> None:
        while True:
            self._permits.acquire()
            if self._stopping:
                return
            try:
                chunk = next(self._source, _END)
                if chunk is _END:
                    self._handed.put(("end", None, None))
                    return
                extra = self._load(chunk)  # type: ignore[arg-type]
            except BaseException as exc:
                # Raised again in the consumer's thread, after the chunks
                # read before it.
                self._handed.put(("error", exc, None))
                return
            self._handed.put(("chunk", chunk, extra))

"""A sink that writes orders to a JSON Lines file instead of sending them."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from connector.sink.batch import Batch, BatchOutcome


class DryRunSink:
    """Write each order's request JSON on its own line; accept every order.

    The file contains exactly the bytes the API would have received, one order
    per line, so it may contain whatever personal data the mapping sends
    (hashed unless raw sending was opted in). ``target`` is a path, which is
    created or truncated, or an open binary stream, which is left open.
    """

    def __init__(self, target: Path | str | BinaryIO) -> None:
        if isinstance(target, str | Path):
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._stream: BinaryIO = path.open("wb")
            self._owns_stream = True
            self.path: Path | None = path
        else:
            self._stream = target
            self._owns_stream = False
            self.path = None
        self.orders_written = 0

    def submit(self, batch: Batch) -> list[BatchOutcome]:
        """Write the orders of ``batch`` and return its outcome at once."""
        for order in batch.orders:
            self._stream.write(order.body)
            self._stream.write(b"\n")
        self.orders_written += len(batch.orders)
        return [BatchOutcome(batch, accepted=list(batch.orders))]

    def drain(self) -> list[BatchOutcome]:
        """Flush the file; nothing is ever in flight."""
        self._stream.flush()
        return []

    def close(self) -> None:
        """Flush, and close the file if this sink opened it."""
        if self._stream.closed:
            return
        self._stream.flush()
        if self._owns_stream:
            self._stream.close()

    def __enter__(self) -> DryRunSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

"""Keep a sync's lock fresh from a background thread while the run works.

A run can wait for minutes without a checkpoint (pacing, 429 pauses,
backoff). Heartbeats from the run's own steps would then stop, another
scheduler would take the lock over as stale, and both runs would send the
same orders, the older version possibly last. The keeper heartbeats on a
timer instead, so only a dead or frozen process loses its lock.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from connector.errors import LockedError, StateError
from connector.state.lock import SyncLock

logger = logging.getLogger(__name__)


class LockKeeper:
    """Heartbeat ``lock`` every ``interval`` seconds until the context exits.

    :meth:`check` raises the LockedError seen by the thread, if another run
    took the lock over; the run calls it before each send and checkpoint.
    """

    def __init__(self, lock: SyncLock, interval: float) -> None:
        self.lock = lock
        self.interval = interval
        self.lost: LockedError | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name="northbeam-sync-heartbeat", daemon=True
        )

    def __enter__(self) -> LockKeeper:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def check(self) -> None:
        """Raise LockedError if the lock was lost to another run."""
        if self.lost is not None:
            raise self.lost

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.lock.heartbeat()
            except LockedError as exc:
                self.lost = exc
                return
            except StateError as exc:
                # A busy or briefly unreachable store; the next beat retries,
                # and the lock timeout is many intervals long.
                logger.warning("lock heartbeat failed, retrying: %s", exc)

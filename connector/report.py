"""The reject report: one JSON line per order that was not sent, and why.

Lines carry the order key and id, the stage, a JSON path and the reason;
reasons are built without raw personal values, so the file can be shared.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import IO

from connector.records import Reject


class RejectReport:
    """Write the rejects of one run to a JSON Lines file, replacing the last run's."""

    def __init__(self, path: Path | None, run_id: str) -> None:
        self.path = path
        self.run_id = run_id
        self.count = 0
        self._file: IO[str] | None = None

    def __enter__(self) -> RejectReport:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("w", encoding="utf-8")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def write(self, reject: Reject, *, repeated: bool = False) -> None:
        """Append one reject; ``repeated`` marks a retried order rejected again."""
        self.count += 1
        if self._file is None:
            return
        line = {
            "run_id": self.run_id,
            "order_key": reject.order_key,
            "order_id": reject.order_id,
            "stage": reject.stage,
            "field_path": reject.field_path,
            "reason": reject.reason,
            "repeated": repeated,
        }
        self._file.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._file.flush()

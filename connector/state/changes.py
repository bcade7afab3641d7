"""Backend-neutral preparation of checkpoints and state summaries."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from connector.records import Reject
from connector.state.cursor import (
    dump_cursor,
    dump_cursor_map,
    encode_cursor,
    load_cursor_map,
)
from connector.state.lock import LockInfo
from connector.state.records import SyncState, Unchanged, format_time, utc_now

#: Maximum length of a stored reject reason, in characters.
MAX_REASON_CHARS = 2000

_Item = TypeVar("_Item")


@dataclass(frozen=True, slots=True)
class CheckpointChanges:
    """Writes of one checkpoint, with cursors already encoded as JSON text.

    ``accepted`` excludes keys that are also in ``rejected``, so an order
    reported both ways is kept as a pending reject and sent again later.
    """

    accepted: dict[str, str]
    rejected: dict[str, Reject]
    high_water_mark: str | Unchanged | None
    child_marks: Mapping[str, Any] | None
    mapping_fingerprint: str | Unchanged | None
    at: datetime

    @property
    def touched_keys(self) -> list[str]:
        """Order keys whose fingerprint or pending reject may change."""
        return [*self.accepted, *self.rejected]


def plan_checkpoint(
    accepted: Mapping[str, str],
    rejected: Sequence[Reject],
    high_water_mark: Any,
    child_marks: Mapping[str, Any] | None,
    mapping_fingerprint: str | Unchanged | None,
) -> CheckpointChanges:
    """Check and encode the arguments of ``StateStore.checkpoint``.

    Raises:
        StateError: a cursor value has an unsupported type.
    """
    rejects = {reject.order_key: _trim_reason(reject) for reject in rejected}
    accepted_only = {key: fp for key, fp in accepted.items() if key not in rejects}
    mark = (
        high_water_mark
        if isinstance(high_water_mark, Unchanged)
        else dump_cursor(high_water_mark)
    )
    if child_marks is not None:
        # Encoding raises on an unsupported type before any write starts.
        dump_cursor_map(dict(child_marks))
    return CheckpointChanges(
        accepted=accepted_only,
        rejected=rejects,
        high_water_mark=mark,
        child_marks=child_marks,
        mapping_fingerprint=mapping_fingerprint,
        at=utc_now(),
    )


def merge_child_marks(stored: str | None, updates: Mapping[str, Any]) -> str:
    """Return stored child marks with ``updates`` applied, as JSON text."""
    marks = load_cursor_map(stored)
    marks.update(updates)
    return dump_cursor_map(marks)


def summarize(
    state: SyncState,
    fingerprint_count: int,
    rejects_by_stage: Mapping[str, int],
    lock: LockInfo | None,
) -> dict[str, Any]:
    """Build the JSON-friendly summary of ``StateStore.show``.

    It contains marks, counts and the lock holder, and no order keys.
    """
    return {
        "name": state.name,
        "high_water_mark": encode_cursor(state.high_water_mark),
        "child_marks": {
            child: encode_cursor(value) for child, value in state.child_marks.items()
        },
        "mapping_fingerprint": state.mapping_fingerprint,
        "created_at": _time_or_none(state.created_at),
        "updated_at": _time_or_none(state.updated_at),
        "fingerprints": fingerprint_count,
        "pending_rejects": {
            "total": sum(rejects_by_stage.values()),
            "by_stage": dict(sorted(rejects_by_stage.items())),
        },
        "lock": None if lock is None else lock.to_dict(),
    }


def chunked(items: Sequence[_Item], size: int) -> Iterator[Sequence[_Item]]:
    """Yield consecutive slices of ``items`` with at most ``size`` elements."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _trim_reason(reject: Reject) -> Reject:
    if len(reject.reason) <= MAX_REASON_CHARS:
        return reject
    return Reject(
        order_key=reject.order_key,
        stage=reject.stage,
        reason=reject.reason[: MAX_REASON_CHARS - 3] + "...",
        order_id=reject.order_id,
        field_path=reject.field_path,
    )


def _time_or_none(value: datetime | None) -> str | None:
    return None if value is None else format_time(value)

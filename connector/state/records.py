"""Records that the state stores return, and the marker for unchanged values."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


class Unchanged(enum.Enum):
    """Type of :data:`UNCHANGED`."""

    UNCHANGED = "unchanged"


#: Default of checkpoint arguments that keep the stored value, because
#: ``None`` is a value that can be stored (no high-water mark yet).
UNCHANGED = Unchanged.UNCHANGED


@dataclass(frozen=True, slots=True)
class SyncState:
    """Marks of one sync, as of its last checkpoint.

    ``high_water_mark`` and the values of ``child_marks`` are cursor values
    with the type the warehouse returned (see ``connector.state.cursor``);
    ``None`` means nothing has been read yet. Times are aware UTC datetimes.
    """

    name: str
    high_water_mark: Any = None
    #: Child source name (``products``, ``refunds``) to its cursor value.
    child_marks: dict[str, Any] = field(default_factory=dict)
    #: sha256 of the mapping that produced the stored fingerprints.
    mapping_fingerprint: str | None = None
    created_at: datetime | None = None
    #: Time of the last checkpoint or manual change of the marks.
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PendingReject:
    """A rejected order that later runs read again until it is accepted.

    ``reason`` is the reason of the latest rejection; like
    ``connector.records.Reject.reason`` it contains no personal value.
    ``attempts`` counts the runs that rejected the order.
    """

    order_key: str
    stage: str
    reason: str
    first_seen: datetime
    last_seen: datetime
    attempts: int
    order_id: str | None = None
    field_path: str | None = None


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def format_time(value: datetime) -> str:
    """Format an aware datetime as ISO-8601 text in UTC, for storage."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def parse_time(text: str | None) -> datetime | None:
    """Parse text written by :func:`format_time`."""
    return None if text is None else datetime.fromisoformat(text)

"""The summary a run returns to its caller and the CLI prints."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class RunSummary:
    """Counts and outcome of one sync run.

    ``rejected`` counts orders rejected for the first time in this run;
    ``still_rejected`` counts orders retried from earlier runs and rejected
    again. Only the first counts toward ``max_reject_ratio``.
    """

    sync_name: str
    mode: str = "incremental"
    dry_run: bool = False
    rows_read: int = 0
    orders_mapped: int = 0
    orders_sent: int = 0
    rejected: int = 0
    still_rejected: int = 0
    unchanged: int = 0
    null_cursor: int = 0
    batches: int = 0
    duration_seconds: float = 0.0
    high_water_mark: str | None = None
    with_hashed_email: int = 0
    with_hashed_phone: int = 0
    with_raw_email: int = 0
    with_raw_phone: int = 0
    phones_dropped: int = 0
    emails_dropped: int = 0
    reject_file: str | None = None
    target: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def orders_per_second(self) -> float:
        if self.duration_seconds <= 0:
            return 0.0
        return (self.orders_sent + self.unchanged) / self.duration_seconds

    @property
    def hashed_email_share(self) -> float:
        """Share of sent orders that carried a hashed email, 0..1."""
        return self.with_hashed_email / self.orders_sent if self.orders_sent else 0.0

    @property
    def hashed_phone_share(self) -> float:
        """Share of sent orders that carried a hashed phone number, 0..1."""
        return self.with_hashed_phone / self.orders_sent if self.orders_sent else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["orders_per_second"] = round(self.orders_per_second, 1)
        data["hashed_email_share"] = round(self.hashed_email_share, 4)
        data["hashed_phone_share"] = round(self.hashed_phone_share, 4)
        return data

    def lines(self) -> list[str]:
        """Human-readable lines for the console."""
        rate = f"{self.orders_per_second:,.0f} orders/s" if self.orders_sent else ""
        sent_label = "orders written" if self.dry_run else "orders sent"
        out = [
            f"sync {self.sync_name} ({self.mode}) -> {self.target}",
            f"  rows read        {self.rows_read:>10,}",
            f"  {sent_label:<17}{self.orders_sent:>10,}"
            + ("  (dry run)" if self.dry_run else ""),
            f"  unchanged        {self.unchanged:>10,}",
            f"  rejected         {self.rejected:>10,}"
            + (f"  (+{self.still_rejected:,} again)" if self.still_rejected else ""),
            f"  duration         {self.duration_seconds:>10.2f} s"
            + (f"  ({rate})" if rate else ""),
        ]
        if self.orders_sent:
            out.append(
                f"  hashed email     {self.hashed_email_share:>10.1%}"
                f"   hashed phone {self.hashed_phone_share:.1%}"
            )
        if self.orders_sent and (self.with_raw_email or self.with_raw_phone):
            # The mapping opted in to raw identities, so a hashed share of 0%
            # is expected; this line shows they are sent.
            out.append(
                f"  raw email        {self.with_raw_email / self.orders_sent:>10.1%}"
                f"   raw phone {self.with_raw_phone / self.orders_sent:.1%}"
            )
        if self.phones_dropped or self.emails_dropped:
            out.append(
                f"  identities dropped: {self.phones_dropped:,} invalid phones, "
                f"{self.emails_dropped:,} placeholder emails"
            )
        if self.null_cursor:
            out.append(f"  orders with NULL cursor read: {self.null_cursor:,}")
        if self.high_water_mark is not None:
            out.append(f"  high-water mark  {self.high_water_mark}")
        if self.rejected or self.still_rejected:
            out.append(f"  reject report    {self.reject_file}")
        return out

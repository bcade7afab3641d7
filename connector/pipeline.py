"""The sync, top to bottom: read, map, hash, validate, upsert, checkpoint.

A run has two passes. The first revisits orders picked by key: orders
rejected by earlier runs, orders whose line items or refunds changed, and
orders whose cursor is NULL. The second streams the orders whose cursor is at
or above the high-water mark (less the lookback) and is the only pass that
moves the mark.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.config import Settings
from connector.delivery import Delivery
from connector.mapping import OrderMapper, load_mapping
from connector.prepare import OrderPreparer
from connector.report import RejectReport
from connector.sink import Batcher, DryRunSink, OrderSink
from connector.source import CursorWindow, Warehouse
from connector.state import describe_cursor, lower_bound, open_store
from connector.summary import RunSummary
from connector.transform.identity import IdentityHasher
from connector.validate import OrderValidator

logger = logging.getLogger(__name__)

Progress = Callable[[RunSummary], None]


@dataclass(frozen=True)
class RunOptions:
    """How one run differs from a plain incremental sync.

    ``since``/``until`` make a backfill: that cursor range is resent in full
    and the high-water mark stays where it is. ``full_refresh`` resends every
    order. ``dry_run_path`` writes payloads to a JSON Lines file instead of
    sending them and leaves state untouched.
    """

    full_refresh: bool = False
    since: Any = None
    until: Any = None
    dry_run_path: str | None = None
    progress: Progress | None = None

    @property
    def is_backfill(self) -> bool:
        return self.since is not None or self.until is not None


def run(settings: Settings, options: RunOptions | None = None) -> RunSummary:
    """Run one sync and return its summary.

    Raises:
        ConnectorError: a subclass names the stage that failed; state is
            left at the last checkpoint, so running again is always safe.
    """
    options = options or RunOptions()
    started = time.monotonic()
    mapper = OrderMapper(
        load_mapping(settings.resolve(settings.mapping), settings.northbeam.api_version)
    )
    name = settings.sync.name

    with Warehouse.connect(settings.warehouse, settings.base_dir) as warehouse:
        store = open_store(settings, warehouse)
        try:
            with store.lock(
                name,
                owner=f"run-{uuid.uuid4().hex[:8]}",
                timeout_seconds=settings.state.lock_timeout_seconds,
            ) as lock:
                summary = _SyncRun(
                    settings, options, mapper, warehouse, store, lock
                ).execute()
        finally:
            store.close()

    summary.duration_seconds = time.monotonic() - started
    logger.info(
        "run finished: sync=%s read=%d sent=%d unchanged=%d rejected=%d duration=%.2fs",
        name,
        summary.rows_read,
        summary.orders_sent,
        summary.unchanged,
        summary.rejected,
        summary.duration_seconds,
    )
    return summary


class _SyncRun:
    """State of one run; ``execute`` is the flow."""

    def __init__(
        self,
        settings: Settings,
        options: RunOptions,
        mapper: OrderMapper,
        warehouse: Warehouse,
        store: Any,
        lock: Any,
    ) -> None:
        self.settings = settings
        self.options = options
        self.mapper = mapper
        self.warehouse = warehouse
        self.store = store
        self.lock = lock
        self.name = settings.sync.name
        self.state = store.load(self.name)
        api = settings.northbeam
        self.target = f"{api.url} {api.api_version}"
        self.hasher = IdentityHasher(mapper.mapping.identity_policy)
        self.preparer = OrderPreparer(
            mapper, self.hasher, OrderValidator(api.api_version), self.target
        )
        self.dry_run = options.dry_run_path is not None
        self.summary = RunSummary(
            sync_name=self.name,
            mode=self._mode(),
            dry_run=self.dry_run,
            target=options.dry_run_path if self.dry_run else api.url,
        )
        self.force = options.full_refresh or options.is_backfill
        # Keys handled by the revisit pass; the window pass skips them, so an
        # order is sent or reported at most once per run.
        self.revisited: set[str] = set()
        self.in_revisit = False

    def _mode(self) -> str:
        if self.options.is_backfill:
            return "backfill"
        if self.options.full_refresh:
            return "full refresh"
        if self.state.high_water_mark is None:
            return "initial"
        if self.state.mapping_fingerprint not in (
            None,
            self.mapper.mapping.fingerprint,
        ):
            return "mapping changed"
        return "incremental"

    def execute(self) -> RunSummary:
        settings = self.settings
        sink = self._open_sink()
        report_path = settings.resolve(settings.sync.reject_file)
        pending = self.store.pending_rejects(self.name)
        try:
            with RejectReport(report_path, uuid.uuid4().hex) as report:
                self.summary.reject_file = str(report_path)
                delivery = Delivery(
                    sink=sink,
                    batcher=Batcher(
                        settings.northbeam.batch_size,
                        settings.northbeam.max_batch_bytes,
                    ),
                    store=None if self.dry_run else self.store,
                    sync_name=self.name,
                    report=report,
                    summary=self.summary,
                    max_reject_ratio=settings.sync.max_reject_ratio,
                    retry_keys=[p.order_key for p in pending],
                    on_checkpoint=self.lock.heartbeat,
                )
                self._revisit_pass(delivery, [p.order_key for p in pending])
                self._window_pass(delivery)
                delivery.check_ceiling(final=True)
        finally:
            sink.close()
        self._fill_identity_counts()
        return self.summary

    # -- passes -----------------------------------------------------------

    def _revisit_pass(self, delivery: Delivery, retry_keys: list[str]) -> None:
        if self.options.is_backfill:
            return
        self.in_revisit = True
        child_marks: dict[str, Any] = {}
        for source, spec in self.mapper.child_specs.items():
            if spec.cursor is None:
                continue
            since = self.state.child_marks.get(source)
            if since is None or self.options.full_refresh:
                # The window pass reads every order on a first run, so only
                # the child's current maximum needs recording.
                child_marks[source] = self.warehouse.max_cursor(spec)
                continue
            since = lower_bound(since, self.settings.sync.lookback)
            keys, top = self.warehouse.changed_keys(spec, since)
            child_marks[source] = top if top is not None else since
            logger.info("child changes: source=%s orders=%d", source, len(keys))
            self._process_chunks(delivery, self._rows_by_keys(keys, as_text=False))

        if retry_keys:
            logger.info("retrying %d orders rejected by earlier runs", len(retry_keys))
            self._process_chunks(delivery, self._rows_by_keys(retry_keys, as_text=True))

        spec = self.mapper.orders_spec
        chunk_rows = self.settings.warehouse.chunk_rows
        for rows in self.warehouse.stream_null_cursor_rows(spec, chunk_rows):
            self.summary.null_cursor += len(rows)
            self._process_chunk(delivery, rows)
        if self.summary.null_cursor:
            logger.warning(
                "%d orders have a NULL cursor column %s; they are read on every "
                "run. Set orders.cursor_fallback in the mapping to track them.",
                self.summary.null_cursor,
                spec.cursor,
            )

        delivery.finish()
        self.in_revisit = False
        if child_marks and not self.dry_run:
            delivery.checkpoint(child_marks=child_marks)

    def _window_pass(self, delivery: Delivery) -> None:
        window = self._window()
        delivery.move_mark = not self.options.is_backfill
        delivery.mark_floor = self.state.high_water_mark
        spec = self.mapper.orders_spec
        chunks = self.warehouse.stream_rows(
            spec, window, self.settings.warehouse.chunk_rows
        )
        self._process_chunks(delivery, chunks)
        delivery.finish()

        if not self.dry_run and self._reads_everything():
            self.store.checkpoint(
                self.name,
                accepted={},
                rejected=[],
                mapping_fingerprint=self.mapper.mapping.fingerprint,
            )
        mark = delivery.high_water_mark or self.state.high_water_mark
        self.summary.high_water_mark = (
            describe_cursor(mark) if mark is not None else None
        )

    def _window(self) -> CursorWindow:
        if self.options.is_backfill:
            return CursorWindow(lower=self.options.since, upper=self.options.until)
        if self._reads_everything():
            return CursorWindow()
        lower = lower_bound(self.state.high_water_mark, self.settings.sync.lookback)
        return CursorWindow(lower=lower)

    def _reads_everything(self) -> bool:
        return self._mode() in ("initial", "full refresh", "mapping changed")

    # -- per chunk --------------------------------------------------------

    def _rows_by_keys(
        self, keys: list[Any], *, as_text: bool
    ) -> Iterator[list[dict[str, Any]]]:
        step = self.settings.warehouse.chunk_rows
        spec = self.mapper.orders_spec
        for start in range(0, len(keys), step):
            yield self.warehouse.rows_by_keys(
                spec, keys[start : start + step], as_text=as_text
            )

    def _process_chunks(self, delivery: Delivery, chunks: Any) -> None:
        for rows in chunks:
            self._process_chunk(delivery, rows)

    def _process_chunk(self, delivery: Delivery, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        self.summary.rows_read += len(rows)
        key_column = self.mapper.orders_spec.key
        children = self._children(rows, key_column)
        keys = [str(row[key_column]) for row in rows]
        known = {} if self.force else self.store.fingerprints(self.name, keys)

        for row, key in zip(rows, keys, strict=True):
            if self.in_revisit:
                self.revisited.add(key)
            elif key in self.revisited:
                delivery.add(row.get("__cursor"), None, counted=False)
                continue
            own = {name: groups.get(key, []) for name, groups in children.items()}
            item, document = self.preparer.prepare(row, own)
            self.summary.orders_mapped += 1
            if document is not None and known.get(key) == item.fingerprint:  # type: ignore[union-attr]
                delivery.add(row.get("__cursor"), None)
                continue
            if document is not None:
                self._count_identities(document)
            delivery.add(row.get("__cursor"), item)

        delivery.check_ceiling()
        if self.options.progress is not None:
            self.options.progress(self.summary)

    def _children(
        self, rows: list[dict[str, Any]], key_column: str
    ) -> dict[str, dict[str, list[dict[str, Any]]]]:
        keys = [row[key_column] for row in rows]
        grouped: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for name, spec in self.mapper.child_specs.items():
            groups: dict[str, list[dict[str, Any]]] = {}
            for child in self.warehouse.rows_by_keys(spec, keys):
                groups.setdefault(str(child[spec.key]), []).append(child)
            grouped[name] = groups
        return grouped

    # -- sinks and counts -------------------------------------------------

    def _open_sink(self) -> Any:
        if self.dry_run:
            return DryRunSink(Path(self.options.dry_run_path))
        return OrderSink(self.settings.northbeam)

    def _count_identities(self, document: dict[str, Any]) -> None:
        # Counted when queued; the share is reported over sent orders, and a
        # batch rejected by the API is rare enough not to skew it.
        if "hashed_customer_email" in document:
            self.summary.with_hashed_email += 1
        if "hashed_customer_phone_number" in document:
            self.summary.with_hashed_phone += 1

    def _fill_identity_counts(self) -> None:
        stats = self.hasher.stats
        self.summary.phones_dropped = stats.phones_invalid
        self.summary.emails_dropped = stats.emails_placeholder

"""The sync, top to bottom: read, map, hash, validate, upsert, checkpoint.

A run has two passes. The first revisits orders picked by key: orders
whose line items or refunds changed, orders rejected by earlier runs, and
orders whose cursor is NULL. The second streams the orders whose cursor is at
or above the high-water mark (less the lookback) and is the only pass that
moves the mark. A later read of an order already handled in the run is
skipped while its cursor is the same. A row updated meanwhile is handled
again, after the earlier send was acknowledged, so the newer version is
stored.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.config import Settings
from connector.delivery import Delivery
from connector.mapping import OrderMapper, load_mapping
from connector.prepare import OrderPreparer
from connector.records import Reject
from connector.report import RejectReport
from connector.sink import Batcher, DryRunSink, OrderSink
from connector.source import CursorWindow, ReadAhead, Warehouse
from connector.state import describe_cursor, lower_bound, open_store
from connector.state.keeper import LockKeeper
from connector.summary import RunSummary
from connector.transform.identity import IdentityHasher
from connector.validate import OrderValidator

logger = logging.getLogger(__name__)

Progress = Callable[[RunSummary], None]
Rows = list[dict[str, Any]]

#: Seconds between two heartbeats of the lock, sent from a background thread.
_HEARTBEAT_SECONDS = 10.0
#: Modes whose window pass reads every order, whatever the high-water mark.
_FULL_READ_MODES = ("initial", "full refresh", "mapping or target changed")


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
            left at the last checkpoint, so running again is safe.
    """
    options = options or RunOptions()
    started = time.monotonic()
    mapper = OrderMapper(
        load_mapping(settings.resolve(settings.mapping), settings.northbeam.api_version)
    )
    name = settings.sync.name

    with Warehouse.connect(settings.warehouse, settings.base_dir) as warehouse:
        store = open_store(settings, warehouse)
        sources = [mapper.orders_spec, *mapper.child_specs.values()]
        try:
            with (
                store.lock(
                    name,
                    owner=f"run-{uuid.uuid4().hex[:8]}",
                    timeout_seconds=settings.state.lock_timeout_seconds,
                ) as lock,
                warehouse.bounded_buffer(sources),
            ):
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


def sync_fingerprint(mapping_fingerprint: str, target: str) -> str:
    """Return the digest state keeps to notice a changed mapping or API target.

    Orders below the high-water mark were sent with one mapping to one
    target; when either changes, the next run reads every order again.
    """
    text = f"{mapping_fingerprint}\n{target}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
        target = f"{api.url} {api.api_version}"
        self.fingerprint = sync_fingerprint(mapper.mapping.fingerprint, target)
        self.hasher = IdentityHasher(mapper.mapping.identity_policy)
        self.validator = OrderValidator(api.api_version)
        self.preparer = OrderPreparer(mapper, self.hasher, self.validator, target)

        self.dry_run_path = options.dry_run_path
        self.dry_run = self.dry_run_path is not None
        self.mode = self._mode()
        self.summary = RunSummary(
            sync_name=self.name,
            mode=self.mode,
            dry_run=self.dry_run,
            target=self.dry_run_path or api.url,
        )
        self.force = options.full_refresh or options.is_backfill

        # Cursor of each order handled by the revisit pass, by key.
        self.revisited: dict[str, Any] = {}
        # Keys rejected in this run for appearing in several rows.
        self.duplicates_reported: set[str] = set()
        # Child marks to store once a run that reads every order completes.
        self.full_read_child_marks: dict[str, Any] = {}

        timeout = settings.state.lock_timeout_seconds
        self.keeper = LockKeeper(lock, min(_HEARTBEAT_SECONDS, timeout / 4))

    def _mode(self) -> str:
        if self.options.is_backfill:
            return "backfill"
        if self.options.full_refresh:
            return "full refresh"
        if self.state.high_water_mark is None:
            return "initial"
        if self.state.mapping_fingerprint not in (None, self.fingerprint):
            return "mapping or target changed"
        return "incremental"

    @property
    def reads_everything(self) -> bool:
        return self.mode in _FULL_READ_MODES

    def execute(self) -> RunSummary:
        settings = self.settings
        if self.mode == "mapping or target changed":
            logger.info(
                "the mapping or the API target changed since the last run: every "
                "order is read again and sent if its payload changed"
            )
        sink = self._open_sink()
        report_path = settings.resolve(settings.sync.reject_file)
        retry_keys = [p.order_key for p in self.store.pending_rejects(self.name)]
        try:
            with self.keeper, RejectReport(report_path, uuid.uuid4().hex) as report:
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
                    retry_keys=retry_keys,
                    guard=self.keeper.check,
                    on_api_reject=self._learn_server_rule,
                )
                self._revisit_pass(delivery, retry_keys)
                self._window_pass(delivery)
                delivery.check_ceiling(final=True)
        finally:
            sink.close()
            self._report_server_rules()
        self._fill_identity_counts()
        return self.summary

    # -- revisit pass -----------------------------------------------------

    def _revisit_pass(self, delivery: Delivery, retry_keys: list[str]) -> None:
        if self.options.is_backfill:
            return
        child_marks = self._child_changes(delivery)

        if retry_keys:
            logger.info("retrying %d orders rejected by earlier runs", len(retry_keys))
            rows = self._rows_by_keys(retry_keys, as_text=True)
            self._process_chunks(delivery, rows, revisit=True)
            delivery.finish()

        self._null_cursor_orders(delivery)
        delivery.finish()
        if child_marks and not self.dry_run:
            delivery.checkpoint(child_marks=child_marks)

    def _child_changes(self, delivery: Delivery) -> dict[str, Any]:
        """Revisit orders whose children changed; return the new child marks.

        A child never recorded (first run, or a mark set by hand) starts at
        its current maximum, None when it is empty, and then every later row
        counts as a change. When the window pass reads every order, a stored
        child mark moves only once that pass completes: a full refresh that
        stops halfway must not skip the child changes of the orders it did
        not reach.
        """
        marks: dict[str, Any] = {}
        for source, spec in self.mapper.child_specs.items():
            if spec.cursor is None:
                continue
            if source not in self.state.child_marks:
                marks[source] = self.warehouse.max_cursor(spec)
                continue
            if self.reads_everything:
                top = self.warehouse.max_cursor(spec)
                self.full_read_child_marks[source] = top
                continue
            stored = self.state.child_marks[source]
            since = lower_bound(stored, self.settings.sync.lookback)
            keys, top = self.warehouse.changed_keys(spec, since)
            marks[source] = _later(stored, top)
            logger.info("child changes: source=%s orders=%d", source, len(keys))
            rows = self._rows_by_keys(keys, as_text=False)
            self._process_chunks(delivery, rows, revisit=True)
            # An order read again by a later group may be a newer version;
            # its send must not overtake this one.
            delivery.finish()
        return marks

    def _null_cursor_orders(self, delivery: Delivery) -> None:
        spec = self.mapper.orders_spec
        chunk_rows = self.settings.warehouse.chunk_rows
        for rows in self.warehouse.stream_null_cursor_rows(spec, chunk_rows):
            self.summary.null_cursor += len(rows)
            self._process_chunk(delivery, rows, self._children(rows), revisit=True)
        if self.summary.null_cursor:
            logger.warning(
                "%d orders have a NULL cursor column %s; they are read and "
                "compared on every run. Set orders.cursor_fallback in the "
                "mapping to track them by another column.",
                self.summary.null_cursor,
                spec.cursor,
            )

    # -- window pass ------------------------------------------------------

    def _window_pass(self, delivery: Delivery) -> None:
        stored_mark = self.state.high_water_mark
        if not self.options.is_backfill:
            # On a first run no order was below a mark before, so every order
            # the mark passes was sent with this mapping to this target.
            extras = {"mapping_fingerprint": self.fingerprint}
            delivery.start_window(
                stored_mark, **(extras if self.mode == "initial" else {})
            )

        spec = self.mapper.orders_spec
        chunks = self.warehouse.stream_rows(
            spec, self._window(), self.settings.warehouse.chunk_rows
        )
        self._process_chunks(delivery, chunks, revisit=False)
        delivery.finish()

        if self._is_fingerprint_due():
            self.store.checkpoint(
                self.name,
                accepted={},
                rejected=[],
                child_marks=self.full_read_child_marks or None,
                mapping_fingerprint=self.fingerprint,
            )
        mark = delivery.high_water_mark
        mark = stored_mark if mark is None else mark
        self.summary.high_water_mark = (
            describe_cursor(mark) if mark is not None else None
        )

    def _is_fingerprint_due(self) -> bool:
        if self.dry_run or self.options.is_backfill:
            return False
        # After a full read every stored fingerprint is of this mapping, and
        # the child marks deferred by it are due. A mark set by hand has no
        # fingerprint yet, and this one is adopted.
        return self.reads_everything or self.state.mapping_fingerprint is None

    def _window(self) -> CursorWindow:
        if self.options.is_backfill:
            return CursorWindow(lower=self.options.since, upper=self.options.until)
        if self.reads_everything:
            return CursorWindow()
        lower = lower_bound(self.state.high_water_mark, self.settings.sync.lookback)
        return CursorWindow(lower=lower)

    # -- per chunk --------------------------------------------------------

    def _rows_by_keys(self, keys: list[Any], *, as_text: bool) -> Iterator[Rows]:
        step = self.settings.warehouse.chunk_rows
        spec = self.mapper.orders_spec
        for start in range(0, len(keys), step):
            yield self.warehouse.rows_by_keys(
                spec, keys[start : start + step], as_text=as_text
            )

    def _process_chunks(
        self, delivery: Delivery, chunks: Iterable[Rows], *, revisit: bool
    ) -> None:
        # Each chunk's child rows are read with it, in the read-ahead thread.
        for rows, children in ReadAhead(chunks, self._children):
            self._process_chunk(delivery, rows, children, revisit=revisit)

    def _process_chunk(
        self,
        delivery: Delivery,
        rows: Rows,
        children: dict[str, dict[str, Rows]],
        *,
        revisit: bool,
    ) -> None:
        if not rows:
            return
        self.summary.rows_read += len(rows)
        key_column = self.mapper.orders_spec.key
        keys = [str(row[key_column]) for row in rows]
        known = {} if self.force else self.store.fingerprints(self.name, keys)
        duplicated = _duplicated(keys)

        for row, key in zip(rows, keys, strict=True):
            cursor = row.get("__cursor")
            if key in duplicated:
                # Rejected once per run: a later pass that reads the rows
                # again (the NULL-cursor pass, a full refresh) adds nothing.
                first = key not in self.duplicates_reported
                reject = self._duplicate_reject(key, duplicated) if first else None
                self.duplicates_reported.add(key)
                delivery.add(cursor, reject, counted=reject is not None)
                continue
            if self._was_revisited(key, cursor):
                delivery.add(cursor, None, counted=False)
                continue
            if revisit:
                self.revisited[key] = cursor
            own = {name: groups.get(key, []) for name, groups in children.items()}
            item, document = self.preparer.prepare(row, own)
            self.summary.orders_mapped += 1
            if document is None:
                delivery.add(cursor, item)
                continue
            if known.get(key) == getattr(item, "fingerprint", None):
                delivery.add(cursor, None)
                continue
            self._count_identities(document)
            delivery.add(cursor, item)

        delivery.check_ceiling()
        if self.options.progress is not None:
            self.options.progress(self.summary)

    def _duplicate_reject(self, key: str, duplicated: dict[str, int]) -> Reject | None:
        # Two rows of one order would race in separate batches, and the older
        # one could be stored last, so the order is reported, not sent. Only
        # the first row carries the reject; the others are done silently.
        count = duplicated[key]
        if count == 0:
            return None
        duplicated[key] = 0
        column = self.mapper.orders_spec.key
        return Reject(
            order_key=key,
            stage="source",
            reason=(
                f"order key appears in {count} rows read together; the orders "
                f"source must have one row per {column}. Check the joins in "
                "the orders query"
            ),
        )

    def _was_revisited(self, key: str, cursor: Any) -> bool:
        """Return whether this version of the order was handled in this run."""
        return key in self.revisited and self.revisited[key] == cursor

    def _children(self, rows: Rows) -> dict[str, dict[str, Rows]]:
        """Read the child rows of ``rows``, grouped by child source and key."""
        if not rows:
            return {}
        key_column = self.mapper.orders_spec.key
        keys = [row[key_column] for row in rows]
        grouped: dict[str, dict[str, Rows]] = {}
        for name, spec in self.mapper.child_specs.items():
            groups: dict[str, Rows] = {}
            for child in self.warehouse.rows_by_keys(spec, keys):
                groups.setdefault(str(child[spec.key]), []).append(child)
            grouped[name] = groups
        return grouped

    # -- sinks, counts and server rules -----------------------------------

    def _open_sink(self) -> Any:
        if self.dry_run_path is not None:
            return DryRunSink(Path(self.dry_run_path))
        return OrderSink(self.settings.northbeam)

    def _learn_server_rule(self, reject: Reject) -> None:
        # Every order sent passed local validation, so each API reject is a
        # rule the local checks do not know.
        self.validator.add_server_rule(reject.field_path or "$", reject.reason)

    def _report_server_rules(self) -> None:
        rules = self.validator.server_rules
        if not rules:
            return
        self.summary.extra["server_rules"] = [
            {"json_path": rule.json_path, "message": rule.message, "orders": rule.count}
            for rule in rules
        ]
        for rule in rules:
            logger.warning(
                "local validation missed a server rule: path=%s orders=%d "
                "message=%s. The API rejected these orders after they passed "
                "local validation; they are in the reject report and are "
                "retried on later runs. Fix the data or the mapping.",
                rule.json_path,
                rule.count,
                rule.message,
            )

    def _count_identities(self, document: dict[str, Any]) -> None:
        # Counted when queued; the share is reported over sent orders, and a
        # batch rejected by the API is rare enough not to skew it.
        if "hashed_customer_email" in document:
            self.summary.with_hashed_email += 1
        if "hashed_customer_phone_number" in document:
            self.summary.with_hashed_phone += 1
        if "customer_email" in document:
            self.summary.with_raw_email += 1
        if "customer_phone_number" in document:
            self.summary.with_raw_phone += 1

    def _fill_identity_counts(self) -> None:
        stats = self.hasher.stats
        self.summary.phones_dropped = stats.phones_invalid
        self.summary.emails_dropped = stats.emails_placeholder


def _duplicated(keys: list[str]) -> dict[str, int]:
    """Return the keys that occur more than once, with their counts."""
    if len(set(keys)) == len(keys):
        return {}
    counts = Counter(keys)
    return {key: count for key, count in counts.items() if count > 1}


def _later(stored: Any, found: Any) -> Any:
    """Return the later of two cursor values, either of which may be None."""
    if stored is None:
        return found
    if found is None:
        return stored
    return max(stored, found)

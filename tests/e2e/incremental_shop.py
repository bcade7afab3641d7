"""A small shop in DuckDB for the incremental-sync tests, with its mapping and config.

Tables, all keyed by ``order_id``:

- ``orders``: one row per order, with the customer's email; ``updated_at``
  is the cursor column, of the type a test chooses (TIMESTAMP, TIMESTAMPTZ,
  DATE or BIGINT).
- ``order_items``: line items, cursor ``updated_at`` (TIMESTAMP).
- ``refunds``: refunds, cursor ``refunded_at`` (TIMESTAMP).

An order without items is rejected by local validation (Northbeam requires
at least one product), which is how the tests make a bad order.
:func:`view_of_stored` and :meth:`Shop.expected` reduce an order to the
fields the tests compare, so a test can check that the stand-in holds the
latest values of every order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

#: A fixed day; tests step cursors from it so values read well in failures.
DAY = datetime(2024, 3, 1, 12, 0)

CURSOR_TYPES = {
    "timestamp": "TIMESTAMP",
    "timestamptz": "TIMESTAMPTZ",
    "date": "DATE",
    "integer": "BIGINT",
}

MAPPING = """\
version: 1
orders:
  table: orders
  key: order_id
  cursor: {cursor}
{orders_extra}timezone: UTC
fields:
  order_id: order_id
  customer_id: customer_id
  time_of_purchase: placed_at
  currency: {{value: USD}}
  purchase_total: {{column: total_cents, unit: cents}}
  tax: {{column: tax_cents, unit: cents}}
{fields_extra}identity:
  email: {{column: email}}
products:
  table: order_items
  key: order_id
{items_cursor}  fields:
    id: sku
    name: title
    quantity: qty
    price: {{column: price_cents, unit: cents}}
refunds:
{refunds_source}  key: order_id
{refunds_cursor}  fields:
    product_id: sku
    quantity: qty
    refund_amount: {{column: amount_cents, unit: cents}}
    refund_cost: {{value: 0}}
    refund_made_at: refunded_at
"""

CONFIG = """\
warehouse:
  url: duckdb:///{database}
  chunk_rows: {chunk_rows}
mapping: {mapping}
northbeam:
  base_url: {url}
  api_key: ${{NORTHBEAM_API_KEY}}
  client_id: ${{NORTHBEAM_CLIENT_ID}}
  batch_size: {batch_size}
  max_in_flight: {max_in_flight}
  max_attempts: {max_attempts}
  max_backoff_seconds: 0.05
  pacing:
    enabled: false
state:
  path: state.db
sync:
  reject_file: rejects.jsonl
  lookback: {lookback}
  max_reject_ratio: {max_reject_ratio}
"""


@dataclass(frozen=True)
class Item:
    """One line item: ``qty`` units of ``sku`` at ``price_cents`` each."""

    sku: str
    qty: int = 1
    price_cents: int = 1000
    title: str = "Mug"


class Shop:
    """The shop's DuckDB file and the changes the tests make to it.

    Each method opens and closes its own connection, so the file is never
    held open while a sync reads it from another process. Opening a DuckDB
    file takes tens of milliseconds, so a group of changes can share one
    connection inside ``with shop.session():``.
    """

    def __init__(self, folder: Path, cursor_type: str = "timestamp") -> None:
        self.folder = folder
        self.database = folder / "shop.duckdb"
        self.cursor_type = CURSOR_TYPES[cursor_type]
        self._held: duckdb.DuckDBPyConnection | None = None
        with self.connect() as con:
            con.execute(
                f"""
                CREATE TABLE orders (
                    order_id VARCHAR PRIMARY KEY,
                    customer_id VARCHAR,
                    placed_at TIMESTAMP,
                    updated_at {self.cursor_type},
                    created_at {self.cursor_type},
                    total_cents BIGINT,
                    tax_cents BIGINT,
                    status VARCHAR,
                    email VARCHAR
                )
                """
            )
            con.execute(
                """
                CREATE TABLE order_items (
                    order_id VARCHAR, sku VARCHAR, title VARCHAR, qty INTEGER,
                    price_cents BIGINT, updated_at TIMESTAMP
                )
                """
            )
            con.execute(
                """
                CREATE TABLE refunds (
                    order_id VARCHAR, sku VARCHAR, qty INTEGER,
                    amount_cents BIGINT, refunded_at TIMESTAMP
                )
                """
            )

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._held is not None:
            yield self._held
            return
        con = duckdb.connect(str(self.database))
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def session(self) -> Iterator[Shop]:
        """Share one connection among the calls in the block."""
        with self.connect() as con:
            self._held = con
            try:
                yield self
            finally:
                self._held = None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.connect() as con:
            return con.execute(sql, list(params)).fetchall()

    # -- changes ----------------------------------------------------------

    def add_order(
        self,
        order_id: str,
        updated_at: Any,
        *,
        items: Iterable[Item] = (Item("sku-1"),),
        total_cents: int = 1000,
        tax_cents: int = 80,
        status: str = "paid",
        created_at: Any = None,
        items_updated_at: datetime | None = None,
    ) -> None:
        """Insert one order and its line items.

        The items' cursor defaults to the order's when that is a timestamp,
        else to :data:`DAY`.
        """
        if items_updated_at is None:
            items_updated_at = _naive_or_day(updated_at)
        with self.connect() as con:
            con.execute(
                "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    order_id,
                    f"cust-{order_id}",
                    DAY,
                    updated_at,
                    created_at,
                    total_cents,
                    tax_cents,
                    status,
                    email_of(order_id),
                ],
            )
            for item in items:
                con.execute(
                    "INSERT INTO order_items VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        order_id,
                        item.sku,
                        item.title,
                        item.qty,
                        item.price_cents,
                        items_updated_at,
                    ],
                )

    def add_many(
        self, count: int, updated_at: Any, *, prefix: str = "o", start: int = 0
    ) -> list[str]:
        """Insert ``count`` one-item orders sharing one cursor value; return ids."""
        ids = [f"{prefix}{number:05d}" for number in range(start, start + count)]
        with self.connect() as con:
            con.execute(
                """
                INSERT INTO orders
                SELECT ? || lpad(i::VARCHAR, 5, '0'), 'cust-' || i, ?, ?, NULL,
                       1000 + i, 80, 'paid',
                       'buyer.' || ? || lpad(i::VARCHAR, 5, '0') || '@example.com'
                FROM range(?, ?) AS t(i)
                """,
                [prefix, DAY, updated_at, prefix, start, start + count],
            )
            con.execute(
                """
                INSERT INTO order_items
                SELECT ? || lpad(i::VARCHAR, 5, '0'), 'sku-1', 'Mug', 1,
                       1000 + i, ?
                FROM range(?, ?) AS t(i)
                """,
                [prefix, DAY, start, start + count],
            )
        return ids

    def update_order(self, order_id: str, updated_at: Any, **columns: Any) -> None:
        """Set ``columns`` and the cursor of one order."""
        values = {"updated_at": updated_at, **columns}
        assignments = ", ".join(f"{name} = ?" for name in values)
        self.execute(
            f"UPDATE orders SET {assignments} WHERE order_id = ?",
            [*values.values(), order_id],
        )

    def set_item(
        self, order_id: str, sku: str, updated_at: datetime, **columns: Any
    ) -> None:
        """Change one line item and its cursor."""
        values = {"updated_at": updated_at, **columns}
        assignments = ", ".join(f"{name} = ?" for name in values)
        self.execute(
            f"UPDATE order_items SET {assignments} WHERE order_id = ? AND sku = ?",
            [*values.values(), order_id, sku],
        )

    def add_item(self, order_id: str, item: Item, updated_at: datetime) -> None:
        self.execute(
            "INSERT INTO order_items VALUES (?, ?, ?, ?, ?, ?)",
            [order_id, item.sku, item.title, item.qty, item.price_cents, updated_at],
        )

    def add_refund(
        self,
        order_id: str,
        sku: str,
        refunded_at: datetime,
        *,
        qty: int = 1,
        amount_cents: int = 1000,
    ) -> None:
        self.execute(
            "INSERT INTO refunds VALUES (?, ?, ?, ?, ?)",
            [order_id, sku, qty, amount_cents, refunded_at],
        )

    # -- expectations -----------------------------------------------------

    def order_ids(self) -> list[str]:
        return [row[0] for row in self.execute("SELECT order_id FROM orders")]

    def orders_without_items(self) -> set[str]:
        """Return ids of the orders local validation rejects (no products)."""
        return set(self.order_ids()) - set(self.expected())

    def cursors(self) -> dict[str, Any]:
        """Return each order's cursor value as DuckDB returns it."""
        rows = self.execute("SELECT order_id, updated_at FROM orders")
        return dict(rows)

    def expected(self) -> dict[str, dict[str, Any]]:
        """Return the compared fields of every order that has line items."""
        with self.session():
            return self._expected()

    def _expected(self) -> dict[str, dict[str, Any]]:
        totals = self.execute(
            "SELECT order_id, total_cents, tax_cents, status FROM orders"
        )
        items: dict[str, dict[str, tuple[Decimal, Decimal]]] = {}
        for order_id, sku, qty, price in self.execute(
            "SELECT order_id, sku, qty, price_cents FROM order_items"
        ):
            items.setdefault(order_id, {})[sku] = (Decimal(qty), _cents(price))
        refunds: dict[str, dict[str, tuple[Decimal, Decimal]]] = {}
        for order_id, sku, qty, amount in self.execute(
            "SELECT order_id, sku, qty, amount_cents FROM refunds"
        ):
            refunds.setdefault(order_id, {})[sku] = (Decimal(qty), _cents(amount))
        return {
            order_id: {
                "purchase_total": _cents(total),
                "tax": _cents(tax),
                "products": items[order_id],
                "refunds": refunds.get(order_id, {}),
            }
            for order_id, total, tax, _status in totals
            if order_id in items
        }


def email_of(order_id: str) -> str:
    """Return the customer email of an order: personal data that must never leak."""
    return f"buyer.{order_id}@example.com"


def _naive_or_day(value: Any) -> datetime:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value
    return DAY


def _cents(value: int) -> Decimal:
    return Decimal(value) / 100


def view_of_stored(order: dict[str, Any]) -> dict[str, Any]:
    """Reduce an order held by the stand-in to the fields Shop.expected returns."""
    return {
        "purchase_total": Decimal(str(order["purchase_total"])),
        "tax": Decimal(str(order["tax"])),
        "products": {
            p["id"]: (Decimal(str(p["quantity"])), Decimal(str(p["price"])))
            for p in order["products"]
        },
        "refunds": {
            r["product_id"]: (
                Decimal(str(r["quantity"])),
                Decimal(str(r["refund_amount"])),
            )
            for r in order.get("refunds", [])
        },
    }


def stale_orders(shop: Shop, stored: dict[str, dict[str, Any]]) -> list[str]:
    """Return ids of orders with items that the stand-in lacks or has outdated."""
    return sorted(
        order_id
        for order_id, fields in shop.expected().items()
        if order_id not in stored or view_of_stored(stored[order_id]) != fields
    )


def write_mapping(
    folder: Path,
    *,
    cursor: str = "updated_at",
    cursor_fallback: str | None = None,
    child_cursors: bool = True,
    fields_extra: str = "",
    refunds_query: str | None = None,
    name: str = "mapping.yaml",
) -> Path:
    """Write the shop's mapping; the keyword arguments vary one rule each."""
    orders_extra = f"  cursor_fallback: {cursor_fallback}\n" if cursor_fallback else ""
    if refunds_query is None:
        refunds_source = "  table: refunds\n"
    else:
        indented = "\n".join(f"    {line}" for line in refunds_query.splitlines())
        refunds_source = f"  query: |\n{indented}\n"
    path = folder / name
    path.write_text(
        MAPPING.format(
            cursor=cursor,
            orders_extra=orders_extra,
            fields_extra=fields_extra,
            items_cursor="  cursor: updated_at\n" if child_cursors else "",
            refunds_source=refunds_source,
            refunds_cursor="  cursor: refunded_at\n" if child_cursors else "",
        ),
        encoding="utf-8",
    )
    return path


def write_config(
    folder: Path,
    url: str,
    *,
    mapping: Path | None = None,
    batch_size: int = 5,
    chunk_rows: int = 1000,
    max_in_flight: int = 2,
    max_attempts: int = 8,
    lookback: float = 0,
    max_reject_ratio: float = 1.0,
    name: str = "config.yaml",
) -> Path:
    """Write a config that syncs the shop in ``folder`` to the stand-in at ``url``."""
    path = folder / name
    path.write_text(
        CONFIG.format(
            database=folder / "shop.duckdb",
            chunk_rows=chunk_rows,
            mapping=mapping or folder / "mapping.yaml",
            url=url,
            batch_size=batch_size,
            max_in_flight=max_in_flight,
            max_attempts=max_attempts,
            lookback=lookback,
            max_reject_ratio=max_reject_ratio,
        ),
        encoding="utf-8",
    )
    return path


def minutes(count: float) -> datetime:
    """Return the naive timestamp ``count`` minutes after :data:`DAY`."""
    return DAY + timedelta(minutes=count)


@dataclass(frozen=True)
class StoredState:
    """What a sync's state holds between runs, as the tests read it."""

    mark: Any
    child_marks: dict[str, Any]
    pending: set[str]
    #: Process id of the run that holds the lock, or None when unlocked.
    lock_pid: int | None


def load_state(folder: Path, name: str = "orders") -> StoredState:
    """Read the marks and the keys of pending rejects from the state file."""
    from connector.state import SQLiteStateStore

    store = SQLiteStateStore(folder / "state.db")
    try:
        state = store.load(name)
        pending = {reject.order_key for reject in store.pending_rejects(name)}
        lock = store.read_lock(name)
    finally:
        store.close()
    return StoredState(
        state.high_water_mark,
        dict(state.child_marks),
        pending,
        None if lock is None else lock.pid,
    )


def orders_behind_mark(
    shop: Shop, state: StoredState, stored: dict[str, dict[str, Any]]
) -> list[str]:
    """Return ids of orders the next run would not read that are not in ``stored``.

    The next incremental run reads again the orders whose cursor is at or
    above the high-water mark, the orders with a line item or refund at or
    above that child's mark, and the pending rejects. Every other order must
    already be in the stand-in with its latest values; any id returned here
    is lost.
    """
    if state.mark is None:
        return []
    with shop.session():
        expected = shop.expected()
        cursors = shop.cursors()
        reread = _child_changed(shop, state.child_marks)
    lost = []
    for order_id, cursor in cursors.items():
        if cursor is None or not cursor < state.mark:
            continue
        if order_id in state.pending or order_id in reread:
            continue
        held = stored.get(order_id)
        if held is None or view_of_stored(held) != expected.get(order_id):
            lost.append(order_id)
    return sorted(lost)


def _child_changed(shop: Shop, child_marks: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for child, table, column in (
        ("products", "order_items", "updated_at"),
        ("refunds", "refunds", "refunded_at"),
    ):
        mark = child_marks.get(child)
        condition = "" if mark is None else f"WHERE {column} >= ?"
        params = [] if mark is None else [mark]
        rows = shop.execute(f"SELECT order_id FROM {table} {condition}", params)
        found.update(row[0] for row in rows)
    return found

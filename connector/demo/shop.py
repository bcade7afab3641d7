"""Generate a small, realistic demo shop in a DuckDB file.

The data is deterministic for a given seed and as messy as real order data:
emails with tags, case and blanks, placeholder values, phone numbers in
national and international forms, NULLs, multi-line orders, refunds, ties on
the cursor column. Every value is synthetic; the emails use reserved example
domains or well-known providers with made-up local parts.
"""

from __future__ import annotations

import csv
import random
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

_FIRST = ["ava", "liam", "noah", "mia", "zoe", "omar", "lena", "ivan", "yuki", "ana"]
_LAST = ["smith", "garcia", "chen", "muller", "rossi", "khan", "silva", "novak"]
_DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "example.com", "example.org"]
_PRODUCTS = [
    ("SKU-TEE", "Cotton tee", "24.00"),
    ("SKU-HOOD", "Fleece hoodie", "59.50"),
    ("SKU-CAP", "Canvas cap", "19.99"),
    ("SKU-SOCK", "Wool socks (3 pairs)", "14.25"),
    ("SKU-BAG", "Tote bag", "32.00"),
    ("SKU-MUG", "Enamel mug", "12.75"),
]
# (alpha-2 country, phone in national form, city, zip, tax rate)
_PLACES = [
    ("US", "(415) 555-{:04d}", "San Francisco", "94103", "0.0863"),
    ("US", "212.555.{:04d}", "New York", "10001", "0.08875"),
    ("GB", "020 7946 {:04d}", "London", "SW1A 1AA", "0.20"),
    ("DE", "0151 2345{:04d}", "Berlin", "10115", "0.19"),
]
_CURRENCIES = {"US": "USD", "GB": "GBP", "DE": "EUR"}
_START = datetime(2026, 1, 5, 9, 0, 0)


def _email(rng: random.Random, first: str, last: str) -> str | None:
    roll = rng.random()
    if roll < 0.05:
        return None
    if roll < 0.08:
        return rng.choice(["N/A", "none", "  ", "@gmail.com"])
    local = f"{first}.{last}{rng.randint(1, 999)}"
    domain = rng.choice(_DOMAINS)
    if rng.random() < 0.2:
        local += "+shop" if domain != "yahoo.com" else "-shop"
    text = f"{local}@{domain}"
    if rng.random() < 0.3:
        text = f"  {text.title()} "
    return text


def _phone(rng: random.Random, place: tuple[str, ...]) -> str | None:
    roll = rng.random()
    if roll < 0.10:
        return None
    if roll < 0.14:
        return rng.choice(["n/a", "555-0100", "12345"])
    return place[1].format(rng.randint(0, 9999))


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def generate_shop(path: Path, *, orders: int = 2000, seed: int = 7) -> None:
    """Create (or replace) the demo shop DuckDB file at ``path``."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    customers: list[list[object]] = []
    order_rows: list[list[object]] = []
    lines: list[list[object]] = []
    refunds: list[list[object]] = []

    for customer_id in range(1, max(orders // 3, 1) + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        place = rng.choice(_PLACES)
        customers.append(
            [
                customer_id,
                _email(rng, first, last),
                _phone(rng, place),
                place[0],
                f"{first.title()} {last.title()}",
                f"{rng.randint(1, 999)} Market St",
                place[2],
                place[3],
            ]
        )

    for number in range(1, orders + 1):
        customer = rng.choice(customers)
        place = next(p for p in _PLACES if p[0] == customer[3])
        # Several orders share one minute, so the cursor has ties.
        created = _START + timedelta(minutes=number // 3, seconds=0)
        order_id = f"D-{100000 + number}"
        picked = rng.sample(_PRODUCTS, rng.randint(1, 4))
        subtotal_cents = 0
        for sku, title, price in picked:
            quantity = rng.choice([1, 1, 1, 2, 3])
            lines.append([order_id, sku, title, quantity, price, created])
            subtotal_cents += round(float(price) * 100) * quantity
        tax_cents = int(subtotal_cents * float(place[4]))
        shipping_cents = rng.choice([0, 0, 495, 995])
        codes = rng.choice([None, None, None, "WELCOME10", "WELCOME10,VIP"])
        order_rows.append(
            [
                order_id,
                customer[0],
                created,
                _CURRENCIES[place[0]],
                subtotal_cents + tax_cents + shipping_cents,
                tax_cents,
                shipping_cents,
                codes,
                created,
            ]
        )
        if rng.random() < 0.05:
            sku, _title, price = picked[0]
            refunds.append([order_id, sku, 1, price, created + timedelta(days=2)])

    _load(path, customers, order_rows, lines, refunds)


def _load(
    path: Path,
    customers: list[list[object]],
    order_rows: list[list[object]],
    lines: list[list[object]],
    refunds: list[list[object]],
) -> None:
    path.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _write_csv(
            folder / "customers.csv",
            [
                "customer_id",
                "email",
                "phone",
                "country",
                "name",
                "address1",
                "city",
                "zip",
            ],
            customers,
        )
        _write_csv(
            folder / "orders.csv",
            [
                "order_id",
                "customer_id",
                "created_at",
                "currency",
                "total_cents",
                "tax_cents",
                "shipping_cents",
                "discount_codes",
                "updated_at",
            ],
            order_rows,
        )
        _write_csv(
            folder / "order_lines.csv",
            ["order_id", "sku", "title", "quantity", "unit_price", "updated_at"],
            lines,
        )
        _write_csv(
            folder / "refunds.csv",
            ["order_id", "sku", "quantity", "amount", "refunded_at"],
            refunds,
        )
        con = duckdb.connect(str(path))
        try:
            _create_tables(con, folder)
        finally:
            con.close()


def _create_tables(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    # Explicit types: money as DECIMAL or integer cents, naive timestamps,
    # as a Fivetran-loaded warehouse would hold them.
    con.execute(
        "CREATE TABLE customers AS SELECT * FROM read_csv(?, header=true, "
        "columns={'customer_id':'BIGINT','email':'VARCHAR','phone':'VARCHAR',"
        "'country':'VARCHAR','name':'VARCHAR','address1':'VARCHAR',"
        "'city':'VARCHAR','zip':'VARCHAR'})",
        [str(folder / "customers.csv")],
    )
    con.execute(
        "CREATE TABLE orders AS SELECT * FROM read_csv(?, header=true, "
        "columns={'order_id':'VARCHAR','customer_id':'BIGINT',"
        "'created_at':'TIMESTAMP','currency':'VARCHAR','total_cents':'BIGINT',"
        "'tax_cents':'BIGINT','shipping_cents':'BIGINT',"
        "'discount_codes':'VARCHAR','updated_at':'TIMESTAMP'})",
        [str(folder / "orders.csv")],
    )
    con.execute(
        "CREATE TABLE order_lines AS SELECT * FROM read_csv(?, header=true, "
        "columns={'order_id':'VARCHAR','sku':'VARCHAR','title':'VARCHAR',"
        "'quantity':'INTEGER','unit_price':'DECIMAL(12,2)',"
        "'updated_at':'TIMESTAMP'})",
        [str(folder / "order_lines.csv")],
    )
    con.execute(
        "CREATE TABLE refunds AS SELECT * FROM read_csv(?, header=true, "
        "columns={'order_id':'VARCHAR','sku':'VARCHAR','quantity':'INTEGER',"
        "'amount':'DECIMAL(12,2)','refunded_at':'TIMESTAMP'})",
        [str(folder / "refunds.csv")],
    )


def change_some_orders(path: Path, *, seed: int = 11) -> dict[str, int]:
    """Edit a few orders the way a live shop would; return what changed."""
    con = duckdb.connect(str(path))
    try:
        top = con.execute("SELECT max(updated_at) FROM orders").fetchone()
        assert top is not None
        later = top[0] + timedelta(minutes=5)
        # A child cursor must be the time a row changed, so new refunds come
        # after every refund already synced, as a loader would stamp them.
        last_refund = con.execute("SELECT max(refunded_at) FROM refunds").fetchone()
        refunded_at = max(
            later, last_refund[0] if last_refund and last_refund[0] else later
        )
        refunded_at += timedelta(minutes=1)
        edited = con.execute(
            "UPDATE orders SET tax_cents = tax_cents + 1, "
            "total_cents = total_cents + 1, updated_at = ? "
            "WHERE order_id IN (SELECT order_id FROM orders "
            "ORDER BY hash(order_id || ?) LIMIT 5)",
            [later, str(seed)],
        ).fetchone()
        refunded = con.execute(
            "INSERT INTO refunds SELECT l.order_id, l.sku, 1, l.unit_price, ? "
            "FROM order_lines l WHERE l.order_id IN (SELECT order_id FROM orders "
            "WHERE order_id NOT IN (SELECT order_id FROM refunds) "
            "ORDER BY hash(order_id || ?) LIMIT 2) "
            "QUALIFY row_number() OVER (PARTITION BY l.order_id ORDER BY l.sku) = 1",
            [refunded_at, str(seed + 1)],
        ).fetchone()
    finally:
        con.close()
    return {
        "orders_edited": int(edited[0]) if edited else 0,
        "refunds_added": int(refunded[0]) if refunded else 0,
    }

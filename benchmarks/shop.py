"""Generate a large synthetic shop in DuckDB, entirely in SQL.

Every value is derived from ``hash(row number, salt, seed)``, so a given
order count and seed always give the same tables, and a million orders take
about ten seconds. The tables are shaped like an e-commerce orders export
loaded into a warehouse:

- ``orders``: one row per order, with the customer's email, phone and
  shipping address copied onto it. There are 2.5 orders per customer on
  average, skewed so that some customers order often. Emails come in mixed
  case, with surrounding blanks, ``+tags`` and placeholders. Phones come in
  national and international forms, and some are invalid or missing. The
  cursor ``updated_at`` is cut to the minute, so orders share cursor values.
- ``order_lines``: 1 to 5 lines per order (3 on average), unique SKUs within
  an order, prices as DECIMAL(12,2).
- ``refunds``: about 5% of orders refund one unit of their first line.

Every value is synthetic: names come from short lists, and phone numbers
are random digits in each country's number formats (London numbers use the
020 7946 0xxx range that Ofcom reserves for drama).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb

#: Orders per customer on average; the rest of the orders are repeat orders.
ORDERS_PER_CUSTOMER = 2.5

_MACROS = """
CREATE OR REPLACE MACRO pick(items, i, salt) AS
    items[1 + (hash(i, salt, getvariable('seed')) % len(items))::INTEGER];
CREATE OR REPLACE MACRO unit(i, salt) AS
    (hash(i, salt, getvariable('seed')) % 1000000) / 1000000.0;
CREATE OR REPLACE MACRO digits(i, salt, n) AS
    lpad((hash(i, salt, getvariable('seed')) % (10 ** n)::UBIGINT)::VARCHAR, n, '0');
CREATE OR REPLACE MACRO capitalize(text) AS upper(text[1]) || text[2:];
"""

_CUSTOMERS = """
CREATE OR REPLACE TEMP TABLE customers AS
WITH base AS (
    SELECT
        c AS customer_id,
        pick(['ava', 'liam', 'noah', 'mia', 'zoe', 'omar', 'lena', 'ivan',
              'yuki', 'ana', 'jose', 'priya', 'tom', 'chloe', 'ben'], c, 'first')
            AS first_name,
        pick(['smith', 'garcia', 'chen', 'muller', 'rossi', 'khan', 'silva',
              'novak', 'o''brien', 'nguyen', 'kowalski', 'dubois'], c, 'last')
            AS last_name,
        pick(['US', 'US', 'US', 'US', 'US', 'US', 'US', 'US', 'US', 'US', 'US',
              'US', 'GB', 'GB', 'GB', 'DE', 'DE', 'CA', 'CA', 'AU'], c, 'country')
            AS country,
        unit(c, 'email') AS email_roll,
        unit(c, 'phone') AS phone_roll
    FROM range(1, getvariable('customers') + 1) AS t(c)
)
SELECT
    customer_id,
    country,
    capitalize(first_name) || ' ' || capitalize(last_name) AS name,
    CASE
        WHEN email_roll < 0.04 THEN NULL
        WHEN email_roll < 0.07 THEN pick(['N/A', 'none', '', '  ', '@gmail.com',
                                          'noemail@'], customer_id, 'placeholder')
        ELSE first_name || '.' || replace(last_name, '''', '')
             || (customer_id % 997)::VARCHAR
             || CASE WHEN email_roll > 0.8 THEN '+shop' ELSE '' END
             || '@' || pick(['gmail.com', 'gmail.com', 'gmail.com', 'yahoo.com',
                             'outlook.com', 'hotmail.com', 'icloud.com',
                             'example.com', 'example.org'], customer_id, 'domain')
    END AS email,
    CASE
        WHEN phone_roll < 0.08 THEN NULL
        WHEN phone_roll < 0.12 THEN pick(['n/a', '12345', '555-0100', '000'],
                                         customer_id, 'junk')
        WHEN country = 'US' THEN pick(['({a}) {x}-{n}', '{a}-{x}-{n}', '{a}.{x}.{n}',
                                       '+1 {a} {x} {n}', '1{a}{x}{n}'],
                                      customer_id, 'us_format')
            .replace('{a}', pick(['212', '415', '312', '617', '206', '303', '512',
                                  '646', '702', '305'], customer_id, 'area'))
            .replace('{x}', (200 + hash(customer_id, 'ex') % 700)::VARCHAR)
            .replace('{n}', digits(customer_id, 'line', 4))
        WHEN country = 'CA' THEN '(416) '
            || (200 + hash(customer_id, 'ex') % 700)::VARCHAR
            || '-' || digits(customer_id, 'line', 4)
        WHEN country = 'GB' THEN pick(['020 7946 0', '+44 20 7946 0', '0044 20 7946 0'],
                                      customer_id, 'gb_format')
            || digits(customer_id, 'line', 3)
        WHEN country = 'DE' THEN pick(['030 ', '+49 30 '], customer_id, 'de_format')
            || '2' || digits(customer_id, 'line', 6)
        ELSE '04' || digits(customer_id, 'mobile', 2) || ' '
            || digits(customer_id, 'line', 3) || ' ' || digits(customer_id, 'end', 3)
    END AS phone,
    (1 + hash(customer_id, 'house') % 998)::VARCHAR || ' '
        || pick(['Market St', 'High Street', 'Hauptstrasse', 'King St',
                 'Maple Avenue', 'George St'], customer_id, 'street') AS address1,
    CASE country
        WHEN 'US' THEN pick(['New York', 'San Francisco', 'Chicago', 'Boston'],
                            customer_id, 'city')
        WHEN 'GB' THEN 'London' WHEN 'DE' THEN 'Berlin'
        WHEN 'CA' THEN 'Toronto' ELSE 'Sydney'
    END AS city,
    CASE country
        WHEN 'US' THEN digits(customer_id, 'zip', 5)
        WHEN 'GB' THEN 'SW1A ' || (1 + hash(customer_id, 'zip') % 9)::VARCHAR || 'AA'
        WHEN 'DE' THEN '10' || digits(customer_id, 'zip', 3)
        WHEN 'CA' THEN 'M5V 2T' || (hash(customer_id, 'zip') % 10)::VARCHAR
        ELSE '2' || digits(customer_id, 'zip', 3)
    END AS zip
FROM base
"""

_LINES = """
CREATE OR REPLACE TABLE order_lines AS
SELECT
    'SO-' || (1000000 + i)::VARCHAR AS order_id,
    k + 1 AS line_no,
    'SKU-' || lpad(product::VARCHAR, 5, '0') AS sku,
    pick(['Cotton', 'Wool', 'Linen', 'Canvas', 'Enamel', 'Fleece', 'Leather'],
         product, 'material') || ' '
        || pick(['tee', 'hoodie', 'cap', 'socks (3 pairs)', 'tote bag', 'mug',
                 'scarf', 'wallet', 'beanie'], product, 'kind') AS title,
    CASE WHEN unit(i * 8 + k, 'qty') < 0.75 THEN 1
         ELSE 2 + (hash(i * 8 + k, 'qty2') % 3)::INTEGER END AS quantity,
    ((500 + hash(product, 'price') % 9500) / 100)::DECIMAL(12, 2) AS unit_price,
    updated_at
FROM (
    SELECT i, k, updated_at,
           -- 37 * k differs for k < 5 modulo 400, so SKUs are unique per order.
           (hash(i, 'product', getvariable('seed')) + 37 * k) % 400 AS product
    FROM order_keys, range(0, 5) AS r(k)
    WHERE k < line_count
)
ORDER BY updated_at, order_id, line_no
"""

_ORDER_KEYS = """
CREATE OR REPLACE TEMP TABLE order_keys AS
SELECT
    i,
    (1 + hash(i, 'lines', getvariable('seed')) % 5)::INTEGER AS line_count,
    least(getvariable('customers'),
          1 + floor(getvariable('customers') * pow(unit(i, 'customer'), 1.6)))::BIGINT
        AS customer_id,
    created_at,
    -- Orders are edited within ten minutes and the cursor keeps whole
    -- minutes, so many orders share one cursor value.
    date_trunc('minute', created_at + to_seconds((hash(i, 'edit') % 600)::BIGINT))
        AS updated_at
FROM (
    SELECT i, TIMESTAMP '2025-01-01 00:00:00'
        + to_microseconds((i * (31536000000000 // getvariable('orders')))::BIGINT)
        AS created_at
    FROM range(1, getvariable('orders') + 1) AS t(i)
)
"""

_ORDERS = """
CREATE OR REPLACE TABLE orders AS
WITH subtotals AS (
    SELECT order_id, sum(quantity * unit_price * 100)::BIGINT AS subtotal_cents
    FROM order_lines GROUP BY order_id
), priced AS (
    SELECT k.*, c.*,
           'SO-' || (1000000 + k.i)::VARCHAR AS order_id,
           s.subtotal_cents,
           CASE c.country WHEN 'US' THEN 0.08875 WHEN 'GB' THEN 0.20
                WHEN 'DE' THEN 0.19 WHEN 'CA' THEN 0.13 ELSE 0.10 END AS tax_rate,
           pick([0, 0, 495, 995], k.i, 'shipping') AS shipping_cents
    FROM order_keys k
    JOIN customers c USING (customer_id)
    JOIN subtotals s ON s.order_id = 'SO-' || (1000000 + k.i)::VARCHAR
)
SELECT
    order_id,
    customer_id,
    created_at,
    updated_at,
    CASE country WHEN 'US' THEN 'USD' WHEN 'GB' THEN 'GBP' WHEN 'DE' THEN 'EUR'
         WHEN 'CA' THEN 'CAD' ELSE 'AUD' END AS currency,
    subtotal_cents + round(subtotal_cents * tax_rate)::BIGINT + shipping_cents
        AS total_cents,
    round(subtotal_cents * tax_rate)::BIGINT AS tax_cents,
    shipping_cents,
    pick([NULL, NULL, NULL, NULL, NULL, NULL, 'WELCOME10', 'WELCOME10,VIP',
          'SUMMER25', ' vip , WELCOME10 '], i, 'codes') AS discount_codes,
    pick(['web', 'web', 'web', 'pos', 'app'], i, 'channel') AS source_name,
    -- The same customer types their email differently from order to order.
    CASE WHEN unit(i, 'case') < 0.15 THEN '  ' || upper(email) || ' '
         WHEN unit(i, 'case') < 0.30 THEN capitalize(email)
         ELSE email END AS email,
    phone,
    name,
    address1,
    city,
    zip,
    country
FROM priced
ORDER BY updated_at, order_id
"""

_REFUNDS = """
CREATE OR REPLACE TABLE refunds AS
SELECT
    l.order_id,
    l.sku,
    1 AS quantity,
    l.unit_price AS amount,
    l.updated_at + INTERVAL 3 DAY AS refunded_at
FROM order_lines l
WHERE l.line_no = 1 AND unit(hash(l.order_id), 'refund') < 0.05
"""

MAPPING = """\
# Mapping of the benchmark shop (benchmarks/shop.py) to Orders API v1.
version: 1
orders:
  table: orders
  key: order_id
  cursor: updated_at
timezone: America/New_York
fields:
  order_id: order_id
  customer_id: {column: customer_id}
  time_of_purchase: {column: created_at}
  currency: {column: currency}
  purchase_total: {column: total_cents, unit: cents}
  tax: {column: tax_cents, unit: cents}
  discount_codes: {column: discount_codes, split: ","}
  order_tags: {column: source_name, split: ","}
  customer_name: {column: name}
identity:
  email: {column: email}
  phone: {column: phone}
  phone_region: {column: country}
  default_region: US
shipping_address:
  address1: {column: address1}
  city: {column: city}
  zip: {column: zip}
  country_code: {column: country}
products:
  table: order_lines
  key: order_id
  cursor: updated_at
  fields:
    id: {column: sku}
    name: {column: title}
    quantity: {column: quantity}
    price: {column: unit_price}
refunds:
  table: refunds
  key: order_id
  cursor: refunded_at
  fields:
    product_id: {column: sku}
    quantity: {column: quantity}
    refund_amount: {column: amount}
    refund_cost: {value: 0}
    refund_made_at: {column: refunded_at}
"""


def generate_shop(path: Path, orders: int, *, seed: int = 1) -> None:
    """Create (or replace) the shop at ``path`` with ``orders`` orders."""
    if orders < 1:
        raise ValueError(f"orders is {orders}; generate at least one order")
    path.unlink(missing_ok=True)
    customers = max(1, round(orders / ORDERS_PER_CUSTOMER))
    con = duckdb.connect(str(path))
    try:
        con.execute(f"SET VARIABLE seed = {int(seed)}")
        con.execute(f"SET VARIABLE orders = {int(orders)}")
        con.execute(f"SET VARIABLE customers = {int(customers)}")
        for statement in (_MACROS, _CUSTOMERS, _ORDER_KEYS, _LINES, _ORDERS):
            con.execute(statement)
        con.execute(_REFUNDS)
        con.execute("CHECKPOINT")
    finally:
        con.close()


def change_orders(path: Path, count: int, *, seed: int = 2) -> int:
    """Edit ``count`` orders the way a live shop does; return how many changed.

    The edited orders get a new tax and total, and an ``updated_at`` one
    minute after the latest one in the table, so an incremental sync finds
    exactly them above its high-water mark.
    """
    con = duckdb.connect(str(path))
    try:
        row = con.execute("SELECT max(updated_at) FROM orders").fetchone()
        assert row is not None and row[0] is not None
        later = row[0] + timedelta(minutes=1)
        changed = con.execute(
            "UPDATE orders SET tax_cents = tax_cents + 1, "
            "total_cents = total_cents + 1, updated_at = ? "
            "WHERE order_id IN (SELECT order_id FROM orders "
            "ORDER BY hash(order_id, ?) LIMIT ?)",
            [later, seed, count],
        ).fetchone()
    finally:
        con.close()
    return int(changed[0]) if changed else 0


def shop_counts(path: Path) -> dict[str, int]:
    """Return the row count of each table of the shop."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            table: int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
            for table in ("orders", "order_lines", "refunds")
        }
    finally:
        con.close()

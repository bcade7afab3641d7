select
    id as order_id,
    customer as customer_id,
    cast(ordered_at as timestamp) as ordered_at,
    store_id,
    subtotal,
    tax_paid,
    order_total
from {{ source('jaffle_raw', 'raw_orders') }}

with item_counts as (
    select
        order_id,
        count(*) as item_count,
        string_agg(sku, ',' order by sku) as skus
    from {{ ref('stg_items') }}
    group by order_id
)

select
    o.order_id,
    o.customer_id,
    o.ordered_at,
    o.store_id,
    o.subtotal,
    o.tax_paid,
    o.order_total,
    coalesce(i.item_count, 0) as item_count,
    i.skus
from {{ ref('stg_orders') }} as o
left join item_counts as i on i.order_id = o.order_id

with

latest_versions as (

    {{ keep_latest_version('order_item_id', 'updated_at', source('shop', 'order_items')) }}

),

final as (

    select
        order_item_id,
        order_id,
        product_id,
        quantity,
        unit_price,
        cast(quantity * unit_price as decimal(12, 2)) as line_total,
        updated_at,
        _loaded_at,
        _source_file

    from latest_versions

)

select * from final

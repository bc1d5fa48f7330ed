with

latest_versions as (

    {{ keep_latest_version('product_id', 'updated_at', source('shop', 'products')) }}

),

final as (

    select
        product_id,
        product_name,
        category,
        unit_price,
        unit_cost,
        updated_at,
        _loaded_at,
        _source_file

    from latest_versions

)

select * from final

with

latest_versions as (

    -- late orders, status corrections and exact re-deliveries collapse to the final state
    {{ keep_latest_version('order_id', 'updated_at', source('shop', 'orders')) }}

),

final as (

    select
        order_id,
        customer_id,
        session_id,
        ordered_at,
        cast(ordered_at as date) as order_date,
        lower(status) as status,
        lower(channel) as channel,
        upper(country_code) as country_code,
        order_total,
        updated_at,
        _loaded_at,
        _source_file

    from latest_versions

)

select * from final

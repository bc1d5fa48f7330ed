with

latest_versions as (

    {{ keep_latest_version('payment_id', 'paid_at', source('shop', 'payments')) }}

),

final as (

    select
        payment_id,
        order_id,
        lower(payment_method) as payment_method,
        amount,
        amount < 0 as is_refund,
        paid_at,
        _loaded_at,
        _source_file

    from latest_versions

)

select * from final

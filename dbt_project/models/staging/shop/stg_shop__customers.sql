with

latest_versions as (

    {{ keep_latest_version('customer_id', 'updated_at', source('shop', 'customers')) }}

),

final as (

    -- names are dropped and the e-mail is hashed here, so no layer above holds PII
    select
        customer_id,
        {{ hash_pii('email') }} as email_hash,
        upper(country_code) as country_code,
        lower(acquisition_channel) as acquisition_channel,
        signed_up_at,
        updated_at,
        _loaded_at,
        _source_file

    from latest_versions

)

select * from final

with

latest_versions as (

    {{ keep_latest_version(
        ['spend_date', 'channel', 'country_code'], 'spend_date', source('marketing', 'ad_spend')
    ) }}

),

final as (

    select
        spend_date,
        lower(channel) as channel,
        upper(country_code) as country_code,
        spend,
        impressions,
        clicks,
        _loaded_at,
        _source_file

    from latest_versions

)

select * from final

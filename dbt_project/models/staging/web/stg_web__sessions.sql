{{ incremental_config('session_id') }}

{#- An incremental table, not a view, for the same reason as stg_web__events
    (~3M rows at scale 10). -#}

{%- set changed_sessions -%}
    session_id in (
        select session_id from {{ source('web', 'sessions') }}
        where _loaded_at > {{ incremental_watermark() }}
    )
{%- endset %}

with

latest_versions as (

    {{ keep_latest_version('session_id', 'started_at', source('web', 'sessions'),
        where=changed_sessions if is_incremental() else none) }}

),

final as (

    select
        session_id,
        customer_id,
        customer_id is not null as is_logged_in,
        started_at,
        cast(started_at as date) as session_date,
        lower(channel) as channel,
        lower(device) as device,
        upper(country_code) as country_code,
        _loaded_at,
        _source_file

    from latest_versions

)

select * from final

{{
    config(
        materialized='incremental',
        unique_key='session_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        tags=['incremental'],
    )
}}

{#- Incremental table, not a view, for the same reason as stg_web__events (~3M rows at scale 10). -#}

with

source as (

    select * from {{ source('web', 'sessions') }}
    {% if is_incremental() %}
    where session_id in (
        select session_id from {{ source('web', 'sessions') }}
        where _loaded_at > {{ incremental_watermark() }}
    )
    {% endif %}

),

latest_versions as (

    select * from source
    {{ keep_latest_version('session_id', 'started_at') }}

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

{{ incremental_config('session_id') }}

{#-
    One row per web session with its funnel counts. Incremental: a session is rebuilt when it
    or any of its events was loaded after the watermark (events after midnight arrive in the
    next day's file).
-#}

with

sessions as (

    select * from {{ ref('stg_web__sessions') }}

),

events as (

    select * from {{ ref('stg_web__events') }}

),

{#- The keys to rebuild, selected once (the staging views de-duplicate whole raw tables each
    time they are read) and kept as a small keys-only CTE that filters both inputs. -#}
{% if is_incremental() %}

    changed_sessions as materialized (
        {{ changed_keys('session_id', [ref('stg_web__sessions'), ref('stg_web__events')]) }}
    ),

{% endif %}

sessions_to_build as (

    select * from sessions
    {% if is_incremental() %}
        where session_id in (select changed_sessions.session_id from changed_sessions)
    {% endif %}

),

event_counts as (

    select
        session_id,
        count(*) as event_count,
        count(*) filter (where event_type = 'view') as view_count,
        count(*) filter (where event_type = 'add_to_cart') as add_to_cart_count,
        count(*) filter (where event_type = 'checkout') as checkout_count,
        count(*) filter (where event_type = 'purchase') as purchase_count,
        count(distinct product_id) filter (where event_type = 'view') as products_viewed,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at,
        max(_loaded_at) as _loaded_at
    from events
    {% if is_incremental() %}
        where session_id in (select changed_sessions.session_id from changed_sessions)
    {% endif %}
    group by session_id

),

final as (

    select
        sessions.session_id,
        sessions.customer_id,
        sessions.is_logged_in,
        sessions.started_at,
        sessions.session_date,
        sessions.channel,
        sessions.device,
        sessions.country_code,
        coalesce(event_counts.event_count, 0) as event_count,
        coalesce(event_counts.view_count, 0) as view_count,
        coalesce(event_counts.add_to_cart_count, 0) as add_to_cart_count,
        coalesce(event_counts.checkout_count, 0) as checkout_count,
        coalesce(event_counts.purchase_count, 0) as purchase_count,
        coalesce(event_counts.products_viewed, 0) as products_viewed,
        coalesce(event_counts.view_count, 0) > 0 as has_view,
        coalesce(event_counts.add_to_cart_count, 0) > 0 as has_add_to_cart,
        coalesce(event_counts.checkout_count, 0) > 0 as has_checkout,
        coalesce(event_counts.purchase_count, 0) > 0 as has_purchase,
        event_counts.first_event_at,
        event_counts.last_event_at,
        coalesce(date_diff('second', event_counts.first_event_at, event_counts.last_event_at), 0)
            as duration_seconds,
        greatest(sessions._loaded_at, event_counts._loaded_at) as _loaded_at

    from sessions_to_build as sessions
    left join event_counts on sessions.session_id = event_counts.session_id

)

select * from final

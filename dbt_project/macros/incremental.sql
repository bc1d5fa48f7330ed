{#-
    Watermark of an incremental model: the newest `_loaded_at` it already holds, minus the
    look-back margin (var `incremental_lookback_minutes`). Rows loaded after it are "new".
    Every incremental model stores, per row, the greatest `_loaded_at` of the raw rows it was
    built from, so the watermark is exact whatever the source of the change.
-#}
{% macro incremental_watermark(column='_loaded_at') -%}
    (
        select coalesce(max({{ column }}), '1900-01-01'::timestamp)
            - to_minutes({{ var('incremental_lookback_minutes', 120) | int }})
        from {{ this }}
    )
{%- endmacro %}

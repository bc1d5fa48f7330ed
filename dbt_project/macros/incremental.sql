{#-
    Watermark of an incremental model: the newest `_loaded_at` it already holds, minus the
    look-back margin (var `incremental_lookback_minutes`). Rows loaded after it are "new".
    Every incremental model stores, per row, the greatest `_loaded_at` of the raw rows it was
    built from, so the watermark is exact whatever the source of the change.
-#}
{% macro incremental_watermark(column='_loaded_at') -%}
    (
        select coalesce(max({{ column }}), '1900-01-01'::timestamp)
            - to_minutes({{ var('incremental_lookback_minutes', 0) | int }})
        from {{ this }}
    )
{%- endmacro %}

{#-
    The filter on an incremental model's driving rows: on an incremental run, keep a row when
    one of its keys appears in a row of an input loaded after the watermark; on a full build,
    keep every row. `changes` lists (column, relation) pairs: "rebuild the rows whose `column`
    value occurs in `relation`'s new rows". Pairs on the same column share one `in (...)`.

    The keys are de-duplicated (`distinct`, `union`) before they become the `in` list: that list
    is the build side of a join held in memory, and right after a cold load (everything "new")
    fct_sessions' list held every session id once per event, 13M strings, which ran DuckDB out
    of its 1 GB at scale 10; the de-duplication itself is an aggregate, which spills.

    The relations are read directly, not through the model's `select *` CTEs: DuckDB
    materialises a CTE that is read more than once, all columns of all rows (measured at scale
    10: fct_sessions materialised stg_web__events, 10M rows, to look up the few changed keys).
-#}
{% macro where_changed_since_watermark(changes) -%}
    {%- if is_incremental() %}
    where
    {%- for column, pairs in changes | groupby(0) %}
        {{ 'or ' if not loop.first }}{{ column }} in ({{ changed_keys(column, pairs | map(attribute=1) | list) }}
        )
    {%- endfor %}
    {%- endif %}
{%- endmacro %}

{#- The distinct values of `column` in the rows of `relations` loaded after the watermark: the
    key list of `where_changed_since_watermark`. A model that filters two inputs by the same keys
    selects them once into a `materialized` CTE of this (keys only, small) and filters both with
    `in (select ...)`: an inlined list is computed again for each filter, and each expansion of a
    staging view re-runs its de-duplication over the whole raw table (at scale 10, fct_sessions
    with the list inlined twice ran out of a 1 GB memory_limit when every session had changed;
    with the CTE the query peaked at 1.15 GiB). -#}
{% macro changed_keys(column, relations) -%}
    {%- for relation in relations %}
            select distinct {{ column }} from {{ relation }} where _loaded_at > {{ incremental_watermark() }}
            {{- ' union' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

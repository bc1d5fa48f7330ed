{#-
    The config of every incremental model, called at the top of the model:
    `{{ incremental_config('order_id') }}`. delete+insert on `unique_key`: a rebuilt key's rows
    replace the old ones whatever changed in them. on_schema_change='fail': a changed column
    list needs a full refresh, not a silent partial update. The tag selects them all
    (`dbt build --select tag:incremental`).
-#}
{% macro incremental_config(unique_key) -%}
    {{ config(
        materialized='incremental',
        unique_key=unique_key,
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        tags=['incremental'],
    ) }}
{%- endmacro %}

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
    is the build side of a join held in memory, which cannot spill. Right after a cold load
    (everything "new") fct_sessions' list would otherwise hold every session id once per event
    (13M strings at scale 10), more than DuckDB's memory limit; the de-duplication itself is an
    aggregate, which spills.

    The relations are read directly, not through the model's `select *` CTEs: DuckDB
    materialises a CTE that is read more than once, all columns of all rows (at scale 10,
    fct_sessions would materialise stg_web__events' 10M rows to look up a few changed keys).
-#}
{% macro where_changed_since_watermark(changes) -%}
    {%- if is_incremental() %}
    where
    {%- for column, pairs in changes | groupby(0) %}
        {{ 'or ' if not loop.first }}{{ column }} in (
            {{- changed_keys(column, pairs | map(attribute=1) | list) }}
        )
    {%- endfor %}
    {%- endif %}
{%- endmacro %}

{#- The distinct values of `column` in the rows of `relations` loaded after the watermark: the
    key list of `where_changed_since_watermark`. A model that filters two inputs by the same keys
    selects them once into a `materialized` CTE of this (keys only, small) and filters both with
    `in (select ...)`: an inlined list is computed again for each filter, and each expansion of a
    staging view re-runs its de-duplication over the whole raw table (at scale 10, fct_sessions
    with the list inlined twice needs more than a 1 GB memory_limit when every session changed). -#}
{% macro changed_keys(column, relations) -%}
    {%- for relation in relations %}
            select distinct {{ column }} from {{ relation }} where _loaded_at > {{ incremental_watermark() }}
            {{- ' union' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#-
    The relation a data test reads: dbt's own (the test's `where` config, if any), and, in a run
    the platform restricts, only the rows loaded after a cutoff.

    The platform sets ANALYTICS_TESTS_LOADED_AFTER (a UTC timestamp) for runs of a subset of the
    models (the runs after a load) once the full suite has passed on the same project
    (analytics_platform/defs/transform/test_scope.py); otherwise it is unset and every test reads
    whole tables. Restricted are the row-level tests (`new_rows_tests` below) of models that
    carry `_loaded_at` (staging and the incremental facts: a row's latest load time): a bad row
    fails its test in the run that loads it, whatever it replaced. Whole-table tests
    (`row_count_matches`, `sums_match`, singular tests) and the `to` side of a relationships test
    read everything. The variable is read only while executing (`execute`): dbt's parse does not
    see it, so a new cutoff never costs a re-parse.
-#}
{% macro default__get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- if config.get('where') -%}
        {%- do conditions.append('(' ~ config.get('where') ~ ')') -%}
    {%- endif -%}
    {%- set loaded_after = env_var('ANALYTICS_TESTS_LOADED_AFTER', '') if execute else '' -%}
    {%- if loaded_after and (model.get('test_metadata') or {}).get('name') in new_rows_tests() -%}
        {%- set tested = graph.nodes.get(model.get('attached_node') or '') or {} -%}
        {%- if '_loaded_at' in (tested.get('columns') or {}) -%}
            {%- do conditions.append("_loaded_at > cast('" ~ loaded_after ~ "' as timestamp)") -%}
        {%- endif -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- Generic tests that judge each row on its own, or the new rows among themselves (`unique`: a
    new key twice; staging keeps one version per key and the incremental facts replace a rebuilt
    key's rows, so a new row cannot repeat an older one there; the full suite checks all rows). -#}
{% macro new_rows_tests() -%}
    {%- do return(['not_null', 'unique', 'accepted_values', 'relationships', 'expression_is_true',
        'unique_combination_of_columns']) -%}
{%- endmacro %}

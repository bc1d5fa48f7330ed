{#- Fails for every row where `expression` is false, as dbt_utils.expression_is_true: a row
    where it is NULL passes (add `not_null` for a column that must have a value). Rows are
    filtered by the test's `where`. -#}
{% test expression_is_true(model, expression, column_name=None) %}

select *
from {{ model }}
where not ({{ column_name ~ ' ' if column_name else '' }}{{ expression }})

{% endtest %}

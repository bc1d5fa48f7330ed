{#- Fails for every row where `expression` is not true (rows filtered by the test's `where`). -#}
{% test expression_is_true(model, expression, column_name=None) %}

select *
from {{ model }}
where not coalesce(({{ column_name ~ ' ' if column_name else '' }}{{ expression }}), false)

{% endtest %}

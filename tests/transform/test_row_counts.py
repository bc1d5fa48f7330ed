"""dbt tables carry their row count on each materialization (``dagster/row_count``); views do not
(counting one would run its query)."""

from __future__ import annotations

from analytics_platform.defs.transform.row_counts import ROW_COUNT

from .support import query

# tables the session fixture's last full build left as they are
TABLES = {"dim_customers": "marts.dim_customers", "fct_daily_revenue": "marts.fct_daily_revenue", "countries": "reference.countries"}


def test_dbt_tables_carry_their_row_count_and_views_none(built):
    metadata = {
        e.asset_key.to_user_string(): e.materialization.metadata for e in built.incremental_build.get_asset_materialization_events()
    }
    counts = {name: metadata[name][ROW_COUNT].value for name in TABLES}
    assert counts == {name: query(built.state, f"SELECT count(*) AS n FROM {table}")["n"][0] for name, table in TABLES.items()}
    assert all(counts.values())
    assert ROW_COUNT not in metadata["stg_shop__orders"]  # a view

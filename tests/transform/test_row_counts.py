"""dbt tables carry their row count on each materialization (``dagster/row_count``); views do not
(counting one would run its query)."""

from __future__ import annotations

from analytics_platform.defs.transform.assets import dbt_models
from analytics_platform.defs.transform.row_counts import ROW_COUNT

from .support import query

# tables no later step of the session rebuilds in the fixture's warehouse (test_automation
# rebuilds fct_daily_revenue there; the incremental facts get a full refresh)
TABLES = {"dim_customers": "marts.dim_customers", "dim_products": "marts.dim_products", "countries": "reference.countries"}


def test_dbt_tables_carry_their_row_count_and_views_none(built):
    metadata = {
        e.asset_key.to_user_string(): e.materialization.metadata for e in built.incremental_build.get_asset_materialization_events()
    }
    counts = {name: metadata[name][ROW_COUNT].value for name in TABLES}
    assert counts == {name: query(built.state, f"SELECT count(*) AS n FROM {table}")["n"][0] for name, table in TABLES.items()}
    assert all(counts.values())
    assert ROW_COUNT not in metadata["stg_shop__orders"]  # a view
    tables = {key for key, spec in ((s.key.to_user_string(), s) for s in dbt_models.specs) if "view" not in spec.kinds}
    assert {key for key in tables if ROW_COUNT not in metadata.get(key, {ROW_COUNT: 0})} == set()

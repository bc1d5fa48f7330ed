"""A young shop (30 days): the assets that need history are skipped with the reason, nothing fails,
and the data-quality page is still built.

The warehouse holds the ML layer's upstream tables built from a 30-day generated shop (the
canonical relations of ``inputs.register_frames`` written to ``lake.raw``/``lake.marts``, which
is what ``inputs.register_warehouse`` reads); the assets run with real resources on it.
"""

from __future__ import annotations

import dagster as dg
import pytest

from analytics_platform.defs.reports.dashboards.data_quality import data_quality_report
from analytics_platform.resources import WarehouseResource
from analytics_platform.sample_data import generate
from ml_assets.churn import features
from ml_assets.churn.assets import churn_model, churn_scores, customer_features
from ml_assets.churn.checks import champion_challenger, feature_drift
from ml_assets.common import inputs
from ml_assets.forecast import model as forecast_model
from ml_assets.forecast.assets import revenue_forecast

DAYS = 30
# upstream table -> its rows, from the canonical relations of the generated frames
UPSTREAM = {
    "raw.shop__customers": "select * from ml_in_customers",
    "raw.shop__orders": "select * from ml_in_order_versions",
    "marts.fct_sessions": "select * from ml_in_sessions",
    "marts.fct_daily_revenue": "select * from ml_in_daily",
    "marts.fct_orders": """
        select order_id, customer_id, session_id, ordered_at, cast(order_total as double) as revenue
        from ml_in_order_versions
        qualify row_number() over (partition by order_id order by updated_at desc) = 1""",
    "marts.experiment_outcomes": """
        select experiment_id, customer_id, variant, assigned_at, assigned_at as first_exposed_at, true as is_exposed
        from _ml_assignments""",
}


@pytest.fixture(scope="module")
def young_shop(tmp_path_factory: pytest.TempPathFactory) -> WarehouseResource:
    root = tmp_path_factory.mktemp("young_shop")
    warehouse = WarehouseResource(state_dir=str(root / "state"), landing_dir=str(root / "landing"))
    with warehouse.connect() as con:
        inputs.register_frames(con, generate(seed=7, scale=0.01, days=DAYS).tables)
        for table, rows in UPSTREAM.items():
            con.execute(f"create schema if not exists lake.{table.split('.')[0]}")
            con.execute(f"create table lake.{table} as {rows}")
    return warehouse


def test_assets_needing_history_are_skipped_with_the_reason(young_shop):
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [customer_features, churn_model, churn_scores, revenue_forecast, feature_drift, champion_challenger,
         data_quality_report],
        resources={"warehouse": young_shop}, instance=instance, raise_on_error=False)

    assert result.success  # a young shop is not a failure
    # the data-quality page is not held back by the skipped ML assets
    assert [e.asset_key for e in result.get_asset_materialization_events()] == [data_quality_report.key]
    assert result.get_asset_check_evaluations() == []
    skipped = {e.step_key for e in result.all_events if e.is_step_skipped}  # downstream: skipped, not failed
    assert skipped == {"churn_model", "churn_scores", "customer_features_feature_drift",
                       "churn_model_champion_challenger"}, skipped

    for asset, need in ((customer_features, features.required_history_days()),
                        (revenue_forecast, forecast_model.required_history_days())):
        observation = instance.fetch_observations(asset.key, limit=1).records[0].asset_observation
        reason = observation.metadata["skipped"].value
        assert "not enough history for" in reason and f"have {DAYS} days, need {need}" in reason
        assert observation.metadata["history_days"].value == DAYS
        assert observation.metadata["required_history_days"].value == need
        assert instance.get_latest_materialization_event(asset.key) is None

    with young_shop.connect(read_only=True) as con:
        ml_tables = con.execute("select table_name from information_schema.tables where table_schema = 'ml'").fetchall()
    assert ml_tables == []

"""``revenue_forecast``: 30 days of revenue and orders with intervals, backtested vs seasonal naive.

The model, its backtest and the intervals are in ``model.py``.
"""

import dagster as dg
import polars as pl

from analytics_platform.resources import WarehouseResource, warehouse_pool
from ml_assets.common import store
from ml_assets.common.conventions import FCT_DAILY_REVENUE, GROUP, OWNERS, lake_inputs
from ml_assets.common.history import NotEnoughHistory
from ml_assets.common.metadata import md_table, skipped_for_short_history, table_metadata
from ml_assets.forecast import model

TABLE = "revenue_forecast"
BACKTEST_TABLE = "revenue_forecast_backtest"


@dg.asset(
    name=TABLE,
    group_name=GROUP,
    owners=OWNERS,
    kinds={"scikit-learn", "duckdb"},
    deps=[FCT_DAILY_REVENUE],
    pool=warehouse_pool("forecast"),
    automation_condition=dg.AutomationCondition.eager(),
    output_required=False,
    description=(
        f"Daily revenue and orders for the next {model.HORIZON} days with 80%/95% prediction intervals "
        "(direct multi-horizon Huber regression on lag levels + weekday; intervals from out-of-sample backtest "
        f"errors), in `lake.ml.{TABLE}`. A rolling-origin backtest against the seasonal-naive forecast is "
        f"stored in `lake.ml.{BACKTEST_TABLE}`; MAPE and MASE are in the metadata. Needs "
        f"{model.required_history_days()} days of history; with less it is skipped (not materialized, the "
        "reason on the asset's page)."
    ),
)
def revenue_forecast(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    from ml_assets.common import plots  # matplotlib, only when charts are drawn

    with lake_inputs(warehouse) as con:
        daily = con.execute("select date_day, revenue, orders from ml_in_daily order by date_day").pl()
        try:
            fc, backtests = model.forecast(daily)
        except NotEnoughHistory as short:
            yield skipped_for_short_history(context, short)
            return
        summary = pl.DataFrame([b.summary() for b in backtests])
        store.replace_table(con, TABLE, fc, model.COLUMN_DOCS)
        store.replace_table(con, BACKTEST_TABLE, summary.with_columns(created_at=fc["created_at"].first()))
    metadata = {**table_metadata(fc, TABLE, model.COLUMN_DOCS),
                "origin_date": str(fc["origin_date"].first()),
                "backtest": dg.MetadataValue.md(md_table(summary))}
    for b in backtests:
        metadata[f"{b.metric}_mase"] = b.mase
        metadata[f"{b.metric}_mape"] = b.mape
        metadata[f"{b.metric}_naive_mase"] = b.naive_mase
        metadata[f"{b.metric}_naive_mape"] = b.naive_mape
        metadata[f"{b.metric}_beats_seasonal_naive"] = b.beats_naive
    metadata["revenue_chart"] = dg.MetadataValue.md(plots.md_image(plots.forecast(daily, fc, "revenue"), "revenue forecast"))
    context.log.info(", ".join(f"{b.metric}: MASE {b.mase:.3f} vs naive {b.naive_mase:.3f}" for b in backtests))
    yield dg.MaterializeResult(metadata=metadata)

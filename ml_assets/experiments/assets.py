"""``experiment_results``: lift, CI, p-value, SRM and a verdict per experiment and metric.

The statistics are in ``analysis.py``.
"""

import dagster as dg
import polars as pl

from analytics_platform.resources import WarehouseResource, warehouse_pool
from ml_assets.common import store
from ml_assets.common.conventions import EXPERIMENT_OUTCOMES, FCT_ORDERS, FCT_SESSIONS, GROUP, OWNERS, lake_inputs
from ml_assets.common.metadata import md_table, table_metadata

TABLE = "experiment_results"
SRM_CHECK = "no_sample_ratio_mismatch"


@dg.asset(
    name=TABLE,
    group_name=GROUP,
    owners=OWNERS,
    kinds={"scipy", "duckdb"},
    deps=[EXPERIMENT_OUTCOMES, FCT_ORDERS, FCT_SESSIONS],
    pool=warehouse_pool("experiments"),
    automation_condition=dg.AutomationCondition.eager(),
    check_specs=[dg.AssetCheckSpec(SRM_CHECK, asset=TABLE, description=(
        "Assigned counts match the planned equal split (chi-square p >= 0.001) in every experiment; "
        "a mismatch means the results cannot be trusted."))],
    description=(
        "Per experiment and metric (conversion in the experiment window, revenue per user): relative lift, "
        "95% CI, p-value, minimum detectable effect, sample-ratio-mismatch test and a plain-language verdict, "
        f"in `lake.ml.{TABLE}`. Customers are analysed as assigned; conversion counts orders from sessions "
        "started inside the experiment window."
    ),
)
def experiment_results(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    from ml_assets.experiments import analysis  # scipy, only when analysing

    with lake_inputs(warehouse) as con:
        units = con.execute("select * from ml_in_experiment").pl()
        results = analysis.analyse(units)
        if results.height:
            store.replace_table(con, TABLE, results, analysis.COLUMN_DOCS)
    view = results.select("experiment_id", "metric", "relative_lift", "ci_low", "ci_high", "p_value",
                          "srm_detected", "verdict") if results.height else results
    yield dg.MaterializeResult(metadata={
        **(table_metadata(results, TABLE, analysis.COLUMN_DOCS) if results.height else {}),
        "experiments": units["experiment_id"].n_unique() if units.height else 0,
        "results": dg.MetadataValue.md(md_table(view, 50) if results.height else "no experiments yet"),
    })
    srm = results.filter(pl.col("srm_detected"))["experiment_id"].unique().to_list() if results.height else []
    yield dg.AssetCheckResult(
        check_name=SRM_CHECK,
        passed=not srm,
        severity=dg.AssetCheckSeverity.ERROR,
        description="no sample ratio mismatch" if not srm else f"sample ratio mismatch in: {', '.join(srm)}",
        metadata={"experiments_with_srm": srm},
    )

"""The churn checks: ``feature_drift`` on ``customer_features``, ``champion_challenger`` on ``churn_model``.

``feature_drift`` (WARN) measures PSI against what the champion was trained on and keeps every
evaluation in ``lake.ml.feature_drift``, which the retrain sensor (``retrain.py``) reads.
``champion_challenger`` (blocking) is the MLflow promotion gate between the model and the scores.
"""

import datetime as dt

import dagster as dg
import polars as pl

from analytics_platform.resources import WarehouseResource, warehouse_pool
from ml_assets.churn import drift, registry
from ml_assets.churn.assets import churn_model, customer_features, read_features
from ml_assets.common import store
from ml_assets.common.metadata import md_table

DRIFT_TABLE = "feature_drift"


@dg.asset_check(
    asset=customer_features,
    name="feature_drift",
    pool=warehouse_pool("churn"),
    description="PSI of every model feature at the current cutoff against the champion's training data "
                "(or this table's training rows before there is a champion). Warns when any PSI > 0.25; "
                "each evaluation is kept in lake.ml.feature_drift, which the retrain sensor reads.",
)
def feature_drift(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    mlflow_store = warehouse.settings.mlflow_store
    features = read_features(warehouse)
    current = features.filter(pl.col("split") == "score")
    champ = registry.champion(mlflow_store)
    if champ:
        ref, against = registry.load_json_artifact(mlflow_store, champ.run_id, "feature_reference"), f"champion v{champ.version}"
    else:
        ref, against = drift.reference(features.filter(pl.col("split") == "train")), "training rows (no champion yet)"
    table = drift.psi(ref, current)
    worst = table.row(0, named=True) if table.height else {"feature": None, "psi": 0.0}
    shifted = table.filter(pl.col("status") == "significant")["feature"].to_list()
    cutoff = current["cutoff"].max() if current.height else None
    with warehouse.connect() as con:
        store.append_rows(con, DRIFT_TABLE, table.with_columns(
            evaluated_at=pl.lit(dt.datetime.now(dt.UTC).replace(tzinfo=None)).cast(pl.Datetime("us")),
            feature_cutoff=pl.lit(cutoff).cast(pl.Datetime("us")), reference=pl.lit(against),
            model_version=pl.lit(champ.version if champ else None, dtype=pl.Utf8), run_id=pl.lit(context.run.run_id)))
    passed = not shifted
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=(f"No feature drifted against {against} (max PSI {worst['psi']:.3f})" if passed else
                     f"{len(shifted)} feature(s) drifted against {against}: {', '.join(shifted)}; retraining is due"),
        metadata={"max_psi": float(worst["psi"]), "worst_feature": str(worst["feature"]), "reference": against,
                  "drifted_features": shifted, "psi": dg.MetadataValue.md(md_table(table, 30))},
    )


def _challenger_version(context: dg.AssetCheckExecutionContext) -> str:
    event = context.instance.get_latest_materialization_event(churn_model.key)
    if event is None or event.asset_materialization is None:
        raise dg.Failure("churn_model has never been materialized: nothing to promote")
    return str(event.asset_materialization.metadata["model_version"].value)


@dg.asset_check(
    asset=churn_model,
    name="champion_challenger",
    blocking=True,
    # requested with every churn_model run (eager counts a dep that "will be requested"), so an
    # automation-launched retrain promotes before churn_scores, in the same run
    automation_condition=dg.AutomationCondition.eager(),
    description="Promotes the newly registered version to the `champion` alias only if its validation AUC "
                f"clears the floor ({registry.AUC_FLOOR}) and beats the current champion re-scored on the same "
                "validation rows. A refusal keeps the champion (WARN); with no usable champion at all it fails "
                "with ERROR, which blocks scoring.",
)
def champion_challenger(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    registry.disable_noise()
    mlflow_store = warehouse.settings.mlflow_store
    version = _challenger_version(context)
    champ = registry.champion(mlflow_store)
    decision = registry.challenge(mlflow_store, version, read_features(warehouse, "validation"))
    if champ and champ.version == version:
        return dg.AssetCheckResult(passed=True, description=decision.reason,
                                   metadata={"challenger_version": version, "challenger_auc": decision.challenger_auc})
    context.log.info(f"promotion of v{version}: {decision.reason}")
    return dg.AssetCheckResult(
        passed=decision.promote,
        severity=dg.AssetCheckSeverity.WARN if (decision.promote or champ) else dg.AssetCheckSeverity.ERROR,
        description=decision.reason,
        metadata={
            "decision": "promoted" if decision.promote else "refused",
            "reason": decision.reason,
            "challenger_version": version,
            "challenger_auc": decision.challenger_auc,
            "champion_version": decision.champion_version or "none",
            "champion_auc": decision.champion_auc if decision.champion_auc is not None else float("nan"),
            "auc_floor": decision.floor,
            "champion_now": version if decision.promote else (champ.version if champ else "none"),
        },
    )

"""Churn: features → model (MLflow) → champion/challenger gate → scores, plus the drift check.

customer_features ──► churn_model ──[champion_challenger, blocking]──► churn_scores
        └─[feature_drift (PSI vs the champion's training data)]
"""

import datetime as dt

import dagster as dg
import polars as pl

from analytics_platform.resources import WarehouseResource
from ml_assets import drift, registry, store
from ml_assets import features as F
from ml_assets.assets.common import (
    FCT_SESSIONS, GROUP, OWNERS, POOL, RAW_CUSTOMERS, RAW_ORDERS, lake_inputs, md_table, skipped_for_short_history,
    table_metadata,
)
from ml_assets.history import NotEnoughHistory

FEATURES_TABLE = "customer_features"
SCORES_TABLE = "churn_scores"
DRIFT_TABLE = "feature_drift"
SPLIT_DOC = {"split": "train (earlier cutoffs), validation (latest cutoff with a fully observed label window) "
                      "or score (cutoff = end of the observed data; no label yet)."}


class FeatureConfig(dg.Config):
    horizon_days: int = F.HORIZON_DAYS
    step_days: int = 14
    max_train_cutoffs: int = 4


def read_features(warehouse: WarehouseResource, split: str | None = None) -> pl.DataFrame:
    with warehouse.connect(read_only=True) as con:
        where = f"where split = '{split}'" if split else ""
        return con.execute(f"select * from {store.table_name(FEATURES_TABLE)} {where} order by cutoff, customer_id").pl()


@dg.asset(
    name=FEATURES_TABLE,
    group_name=GROUP,
    owners=OWNERS,
    kinds={"duckdb", "polars"},
    deps=[RAW_CUSTOMERS, RAW_ORDERS, FCT_SESSIONS],
    pool=POOL,
    automation_condition=dg.AutomationCondition.eager(),
    output_required=False,
    description=(
        "Point-in-time customer features (recency, frequency, monetary, tenure, sessions and conversion in "
        "7/30/90-day windows, bad orders, channel, country) at several cutoffs, with the churn label of the 30 "
        "days after each cutoff. Training cutoffs, one validation cutoff and the current (score) cutoff share "
        f"one table, `lake.ml.{FEATURES_TABLE}`. Label: {F.LABEL_DEFINITION}. Every definition lives in "
        f"`ml_assets/features.py`. Needs {F.required_history_days()} days of history; with less it is skipped "
        "(not materialized, the reason on the asset's page) and so are the model and the scores."
    ),
)
def customer_features(context: dg.AssetExecutionContext, config: FeatureConfig, warehouse: WarehouseResource):
    with lake_inputs(warehouse) as con:
        start, end = F.history_bounds(con)
        try:
            train_cutoffs, validation = F.training_cutoffs(start, end, horizon_days=config.horizon_days,
                                                           step_days=config.step_days,
                                                           max_train_cutoffs=config.max_train_cutoffs)
        except NotEnoughHistory as short:
            yield skipped_for_short_history(context, short)
            return
        parts = [(c, "train") for c in train_cutoffs] + [(validation, "validation"), (end, "score")]
        table = pl.concat([
            F.compute_features(con, c, history_start=start, data_end=end, horizon_days=config.horizon_days)
            .with_columns(split=pl.lit(split)) for c, split in parts
        ])
        store.replace_table(con, FEATURES_TABLE, table, {**F.COLUMN_DOCS, **SPLIT_DOC})
    summary = (table.group_by("split", "cutoff").agg(pl.len().alias("customers"), pl.col("churned").mean().alias("churn_rate"))
               .sort("cutoff"))
    context.log.info(f"features at {len(parts)} cutoffs: {summary.to_dicts()}")
    yield dg.MaterializeResult(metadata={
        **table_metadata(table, FEATURES_TABLE, {**F.COLUMN_DOCS, **SPLIT_DOC}),
        "history": f"{start:%Y-%m-%d} to {end:%Y-%m-%d} (exclusive)",
        "training_cutoffs": [f"{c:%Y-%m-%d}" for c in train_cutoffs],
        "validation_cutoff": f"{validation:%Y-%m-%d}",
        "score_cutoff": f"{end:%Y-%m-%d}",
        "label_definition": F.LABEL_DEFINITION,
        "rows_per_cutoff": dg.MetadataValue.md(md_table(summary.with_columns(pl.col("cutoff").dt.date()))),
    })


@dg.asset_check(
    asset=customer_features,
    name="feature_drift",
    pool=POOL,
    description="PSI of every model feature at the current cutoff against the champion's training data "
                "(or this table's training rows before there is a champion). Warns when any PSI > 0.25; "
                "each evaluation is kept in lake.ml.feature_drift, which the retrain sensor reads.",
)
def feature_drift(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    mlflow_dir = warehouse.settings.mlflow_dir
    features = read_features(warehouse)
    current = features.filter(pl.col("split") == "score")
    champ = registry.champion(mlflow_dir)
    if champ:
        ref, against = registry.load_json_artifact(mlflow_dir, champ.run_id, "feature_reference"), f"champion v{champ.version}"
    else:
        ref, against = drift.reference(features.filter(pl.col("split") == "train")), "training rows (no champion yet)"
    table = drift.psi(ref, current)
    worst = table.row(0, named=True) if table.height else {"feature": None, "psi": 0.0}
    shifted = table.filter(pl.col("status") == "significant")["feature"].to_list()
    cutoff = current["cutoff"].max() if current.height else None
    with warehouse.connect() as con:
        store.append_rows(con, DRIFT_TABLE, table.with_columns(
            evaluated_at=pl.lit(dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)).cast(pl.Datetime("us")),
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


class TrainConfig(dg.Config):
    """Search settings; the defaults are ``churn_model.train``'s and ``churn_model.SEED`` (a test keeps
    them equal without importing scikit-learn here)."""

    n_iter: int = 6
    cv_folds: int = 3
    seed: int = 20260101


# Mondays 05:00 UTC: after the daily 03:00 dbt build, with a week of new data since the last retrain.
RETRAIN_CRON = "0 5 * * 1"
# Bump when a change to the training code (churn_model.py, the features it reads, TrainConfig's
# defaults) should retrain the model as soon as it is deployed.
TRAINING_CODE_VERSION = "1"


def retrain_condition() -> dg.AutomationCondition:
    """Train when there is no model yet (with the next refresh of ``customer_features``), on the
    weekly tick, or when the training code's version changes; never merely because the features
    got a new day (``churn_scores`` follows new data with the champion). Waits for
    ``customer_features`` to exist and not be running.

    "Missing" is tied to a features update rather than ``newly_missing``: that one does not fire
    for an asset missing since the condition's first evaluation, and plain ``missing`` would retry
    a failed training on every tick; this way a failure is retried with the next data.
    """
    no_model_yet = (dg.AutomationCondition.missing() & dg.AutomationCondition.any_deps_updated()).with_label(
        "missing, features updated")
    due = (dg.AutomationCondition.cron_tick_passed(RETRAIN_CRON, "UTC")
           | dg.AutomationCondition.code_version_changed()).since_last_handled()
    return (
        (no_model_yet | due)
        & ~dg.AutomationCondition.any_deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label(f"missing, weekly ({RETRAIN_CRON} UTC) or new training code")


@dg.asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"scikit-learn", "mlflow"},
    deps=[customer_features],
    code_version=TRAINING_CODE_VERSION,
    automation_condition=retrain_condition(),
    description=(
        "Churn classifier: sklearn Pipeline (one-hot + gradient boosting), bounded randomized search with "
        "customer-grouped CV, time-based validation, fixed seeds. Each materialization is an MLflow run "
        "(params, metrics, ROC/confusion/permutation-importance plots, the model with its signature) and a "
        "new version of the registered model `churn_model`; the `champion_challenger` check decides whether "
        "it becomes the champion. Retrains when missing, every Monday 05:00 UTC, when its code version "
        "changes, and from `churn_retrain_sensor` (feature drift, 14 days of data the champion has not "
        "seen); not on every new day of data: `churn_scores` scores new features with the champion."
    ),
)
def churn_model(context: dg.AssetExecutionContext, config: TrainConfig, warehouse: WarehouseResource) -> dg.MaterializeResult:
    # scikit-learn and matplotlib load here, not when the definitions load (every run process does that)
    from ml_assets import churn_model as M
    from ml_assets import plots

    registry.disable_noise()
    mlflow_dir = warehouse.settings.mlflow_dir
    features = read_features(warehouse)
    train, validation = features.filter(pl.col("split") == "train"), features.filter(pl.col("split") == "validation")
    result = M.train(train, validation, seed=config.seed, n_iter=config.n_iter, cv_folds=config.cv_folds)
    importance = M.importance(result, validation, seed=config.seed)
    fpr, tpr = result.roc()
    figures = {
        "roc_curve": plots.roc_curve(fpr, tpr, result.validation_auc),
        "confusion_matrix": plots.confusion(result.confusion(), result.threshold),
        "permutation_importance": plots.importance(importance),
    }
    cutoffs = sorted({c.date().isoformat() for c in train["cutoff"].to_list()})
    validation_cutoff = validation["cutoff"].max().date().isoformat()
    data_end = features.filter(pl.col("split") == "score")["cutoff"].max()
    tags = {"dagster_run_id": context.run_id, "validation_cutoff": validation_cutoff,
            "data_end": data_end.date().isoformat() if data_end else "", "label": "no activity in 30 days"}
    logged = registry.log_training_run(
        mlflow_dir, pipeline=result.pipeline, input_example=M.to_pandas(validation.head(50)),
        params={**result.best_params, "search_n_iter": config.n_iter, "cv_folds": config.cv_folds, "seed": config.seed,
                "training_cutoffs": ",".join(cutoffs), "validation_cutoff": validation_cutoff,
                "features": ",".join(F.FEATURE_NAMES), "label_definition": F.LABEL_DEFINITION},
        metrics=result.metrics(), tags=tags, figures=figures,
        tables={"permutation_importance": importance, "cv_results": result.cv_results},
        json_artifacts={"feature_reference": drift.reference(train)},
        run_name=f"churn-{context.run_id[:8]}",
    )
    context.log.info(f"MLflow run {logged.run_id}: validation AUC {result.validation_auc:.4f}, registered v{logged.version}")
    return dg.MaterializeResult(metadata={
        "mlflow_run_id": logged.run_id,
        "model_version": logged.version,
        "model_uri": logged.model_uri,
        "validation_auc": result.validation_auc,
        "cv_auc": result.cv_auc,
        "train_rows": result.train_rows,
        "validation_rows": result.validation_rows,
        "train_seconds": round(result.seconds, 2),
        "best_params": result.best_params,
        "training_cutoffs": cutoffs,
        "validation_cutoff": validation_cutoff,
        "mlflow_tracking_uri": registry.tracking_uri(mlflow_dir),
        "mlflow_ui": dg.MetadataValue.md(f"`{registry.ui_command(mlflow_dir)}`"),
        "roc_curve": dg.MetadataValue.md(plots.md_image(figures["roc_curve"], "ROC curve")),
        "permutation_importance": dg.MetadataValue.md(md_table(importance, 25)),
    })


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
    mlflow_dir = warehouse.settings.mlflow_dir
    version = _challenger_version(context)
    champ = registry.champion(mlflow_dir)
    decision = registry.challenge(mlflow_dir, version, read_features(warehouse, "validation"))
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


@dg.asset(
    name=SCORES_TABLE,
    group_name=GROUP,
    owners=OWNERS,
    kinds={"scikit-learn", "mlflow", "duckdb"},
    deps=[customer_features, churn_model],
    pool=POOL,
    automation_condition=dg.AutomationCondition.eager(),
    description=(
        "Churn probability of every current customer (active in the last 30 days) from the registry's "
        f"`champion` version, with the model version on every row, in `lake.ml.{SCORES_TABLE}`. Follows every "
        "refresh of the features (a new day is scored by the current champion) and every retrained model."
    ),
)
def churn_scores(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from ml_assets import scoring  # pandas and scikit-learn, only when scoring

    registry.disable_noise()
    mlflow_dir = warehouse.settings.mlflow_dir
    champ = registry.champion(mlflow_dir)
    if champ is None:
        raise dg.Failure("No champion churn model in the registry yet: materialize churn_model with its "
                         "champion_challenger check first.")
    model = registry.load_model(mlflow_dir, champ.version)
    current = read_features(warehouse, "score")
    scores = scoring.score(model, current, model_name=registry.MODEL_NAME, model_version=champ.version, run_id=champ.run_id)
    with warehouse.connect() as con:
        store.replace_table(con, SCORES_TABLE, scores, scoring.COLUMN_DOCS)
    bands = (scores.group_by("risk_band")
             .agg(pl.len().alias("customers"), pl.col("churn_probability").mean().alias("mean_probability"))
             .sort("mean_probability", descending=True))
    return dg.MaterializeResult(metadata={
        **table_metadata(scores, SCORES_TABLE, scoring.COLUMN_DOCS),
        "model_version": champ.version,
        "mlflow_run_id": champ.run_id,
        "feature_cutoff": str(current["cutoff"].max()) if current.height else "",
        "mean_churn_probability": float(scores["churn_probability"].mean() or 0.0),
        "risk_bands": dg.MetadataValue.md(md_table(bands)),
    })

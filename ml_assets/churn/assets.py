"""The churn assets: ``customer_features`` → ``churn_model`` (MLflow) → ``churn_scores``.

customer_features ──► churn_model ──[champion_challenger, blocking]──► churn_scores
        └─[feature_drift (PSI vs the champion's training data)]

The two checks are in ``checks.py``, the retrain sensor and job in ``retrain.py``; the algorithms
beside them: ``features.py``, ``training.py``, ``registry.py`` (MLflow), ``scoring.py``, ``drift.py``.
"""

import dagster as dg
import polars as pl

from analytics_platform.resources import WarehouseResource, warehouse_pool
from ml_assets.churn import drift, features, registry
from ml_assets.common import store
from ml_assets.common.conventions import FCT_SESSIONS, GROUP, OWNERS, RAW_CUSTOMERS, RAW_ORDERS, lake_inputs
from ml_assets.common.history import NotEnoughHistory
from ml_assets.common.metadata import md_table, skipped_for_short_history, table_metadata

FEATURES_TABLE = "customer_features"
SCORES_TABLE = "churn_scores"
SPLIT_DOC = {"split": "train (earlier cutoffs), validation (latest cutoff with a fully observed label window) "
                      "or score (cutoff = end of the observed data; no label yet)."}


class FeatureConfig(dg.Config):
    horizon_days: int = features.HORIZON_DAYS
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
    pool=warehouse_pool("churn"),
    automation_condition=dg.AutomationCondition.eager(),
    output_required=False,
    description=(
        "Point-in-time customer features (recency, frequency, monetary, tenure, sessions and conversion in "
        "7/30/90-day windows, bad orders, channel, country) at several cutoffs, with the churn label of the 30 "
        "days after each cutoff. Training cutoffs, one validation cutoff and the current (score) cutoff share "
        f"one table, `lake.ml.{FEATURES_TABLE}`. Label: {features.LABEL_DEFINITION}. Every definition lives in "
        f"`ml_assets/churn/features.py`. Needs {features.required_history_days()} days of history; with less it "
        "is skipped (not materialized, the reason on the asset's page) and so are the model and the scores."
    ),
)
def customer_features(context: dg.AssetExecutionContext, config: FeatureConfig, warehouse: WarehouseResource):
    with lake_inputs(warehouse) as con:
        start, end = features.history_bounds(con)
        try:
            train_cutoffs, validation = features.training_cutoffs(start, end, horizon_days=config.horizon_days,
                                                                  step_days=config.step_days,
                                                                  max_train_cutoffs=config.max_train_cutoffs)
        except NotEnoughHistory as short:
            yield skipped_for_short_history(context, short)
            return
        parts = [(c, "train") for c in train_cutoffs] + [(validation, "validation"), (end, "score")]
        table = pl.concat([
            features.compute_features(con, c, history_start=start, data_end=end, horizon_days=config.horizon_days)
            .with_columns(split=pl.lit(split)) for c, split in parts
        ])
        store.replace_table(con, FEATURES_TABLE, table, {**features.COLUMN_DOCS, **SPLIT_DOC})
    summary = (table.group_by("split", "cutoff").agg(pl.len().alias("customers"), pl.col("churned").mean().alias("churn_rate"))
               .sort("cutoff"))
    context.log.info(f"features at {len(parts)} cutoffs: {summary.to_dicts()}")
    yield dg.MaterializeResult(metadata={
        **table_metadata(table, FEATURES_TABLE, {**features.COLUMN_DOCS, **SPLIT_DOC}),
        "history": f"{start:%Y-%m-%d} to {end:%Y-%m-%d} (exclusive)",
        "training_cutoffs": [f"{c:%Y-%m-%d}" for c in train_cutoffs],
        "validation_cutoff": f"{validation:%Y-%m-%d}",
        "score_cutoff": f"{end:%Y-%m-%d}",
        "label_definition": features.LABEL_DEFINITION,
        "rows_per_cutoff": dg.MetadataValue.md(md_table(summary.with_columns(pl.col("cutoff").dt.date()))),
    })


class TrainConfig(dg.Config):
    """Search settings; the defaults are ``training.train``'s and ``training.SEED`` (a test keeps
    them equal without importing scikit-learn here)."""

    n_iter: int = 6
    cv_folds: int = 3
    seed: int = 20260101


# Mondays 05:00 UTC: after the daily 03:00 dbt build, with a week of new data since the last retrain.
RETRAIN_CRON = "0 5 * * 1"
# Bump when a change to the training code (training.py, the features it reads, TrainConfig's
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
    from ml_assets.churn import training
    from ml_assets.common import plots

    registry.disable_noise()
    mlflow_store = warehouse.settings.mlflow_store
    rows = read_features(warehouse)
    train, validation = rows.filter(pl.col("split") == "train"), rows.filter(pl.col("split") == "validation")
    result = training.train(train, validation, seed=config.seed, n_iter=config.n_iter, cv_folds=config.cv_folds)
    importance = training.importance(result, validation, seed=config.seed)
    fpr, tpr = result.roc()
    figures = {
        "roc_curve": plots.roc_curve(fpr, tpr, result.validation_auc),
        "confusion_matrix": plots.confusion(result.confusion(), result.threshold),
        "permutation_importance": plots.importance(importance),
    }
    cutoffs = sorted({c.date().isoformat() for c in train["cutoff"].to_list()})
    validation_cutoff = validation["cutoff"].max().date().isoformat()
    data_end = rows.filter(pl.col("split") == "score")["cutoff"].max()
    tags = {"dagster_run_id": context.run_id, "validation_cutoff": validation_cutoff,
            "data_end": data_end.date().isoformat() if data_end else "", "label": "no activity in 30 days"}
    logged = registry.log_training_run(
        mlflow_store, pipeline=result.pipeline, input_example=training.to_pandas(validation.head(50)),
        params={**result.best_params, "search_n_iter": config.n_iter, "cv_folds": config.cv_folds, "seed": config.seed,
                "training_cutoffs": ",".join(cutoffs), "validation_cutoff": validation_cutoff,
                "features": ",".join(features.FEATURE_NAMES), "label_definition": features.LABEL_DEFINITION},
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
        "mlflow_tracking_uri": mlflow_store.tracking_uri,
        "mlflow_ui": dg.MetadataValue.md(f"`{registry.ui_command(mlflow_store)}`"),
        "roc_curve": dg.MetadataValue.md(plots.md_image(figures["roc_curve"], "ROC curve")),
        "permutation_importance": dg.MetadataValue.md(md_table(importance, 25)),
    })


@dg.asset(
    name=SCORES_TABLE,
    group_name=GROUP,
    owners=OWNERS,
    kinds={"scikit-learn", "mlflow", "duckdb"},
    deps=[customer_features, churn_model],
    pool=warehouse_pool("churn"),
    automation_condition=dg.AutomationCondition.eager(),
    description=(
        "Churn probability of every current customer (active in the last 30 days) from the registry's "
        f"`champion` version, with the model version on every row, in `lake.ml.{SCORES_TABLE}`. Follows every "
        "refresh of the features (a new day is scored by the current champion) and every retrained model."
    ),
)
def churn_scores(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from ml_assets.churn import scoring  # pandas and scikit-learn, only when scoring

    registry.disable_noise()
    mlflow_store = warehouse.settings.mlflow_store
    champ = registry.champion(mlflow_store)
    if champ is None:
        raise dg.Failure("No champion churn model in the registry yet: materialize churn_model with its "
                         "champion_challenger check first.")
    model = registry.load_model(mlflow_store, champ.version)
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

"""Batch scoring of current customers with a registered model."""

from __future__ import annotations

import datetime as dt

import polars as pl

from ml_assets.churn.training import limited_threads, to_pandas

# Risk bands on the predicted probability of no activity in the next 30 days.
BANDS = ((0.5, "high"), (0.2, "medium"), (0.0, "low"))

COLUMN_DOCS = {
    "customer_id": "Customer key.",
    "feature_cutoff": "Point in time the features describe (end of the observed data).",
    "churn_probability": "Predicted probability of no session and no order in the next 30 days.",
    "risk_band": "high (>= 0.5), medium (>= 0.2) or low.",
    "model_name": "Registered model in the MLflow registry.",
    "model_version": "Registered model version that produced the score (the champion at scoring time).",
    "model_run_id": "MLflow run that trained that version.",
    "scored_at": "When the score was computed (UTC).",
}


def score(model, features: pl.DataFrame, *, model_name: str, model_version: str, run_id: str,
          scored_at: dt.datetime | None = None) -> pl.DataFrame:
    """One row per customer in ``features`` with the probability, band and model lineage."""
    with limited_threads():
        proba = model.predict_proba(to_pandas(features))[:, 1] if features.height else []
    band = pl.lit("low")
    for threshold, name in reversed(BANDS[:-1]):
        band = pl.when(pl.col("churn_probability") >= threshold).then(pl.lit(name)).otherwise(band)
    return features.select(
        "customer_id", pl.col("cutoff").alias("feature_cutoff"),
    ).with_columns(
        churn_probability=pl.Series(proba, dtype=pl.Float64),
    ).with_columns(
        risk_band=band,
        model_name=pl.lit(model_name), model_version=pl.lit(str(model_version)), model_run_id=pl.lit(run_id),
        scored_at=pl.lit(scored_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)).cast(pl.Datetime("us")),
    )

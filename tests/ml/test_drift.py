"""PSI drift: quiet on the same population, loud on a shifted one."""

from __future__ import annotations

import json

import polars as pl

from ml_assets.churn import drift, features


def test_no_drift_between_training_and_validation_cutoffs(churn_split):
    ref = drift.reference(churn_split.train)
    json.dumps(ref)  # stored as an MLflow artifact
    table = drift.psi(ref, churn_split.validation)
    assert set(table["feature"]) == set(features.FEATURE_NAMES)
    assert table["psi"].max() < drift.SIGNIFICANT, table.head(3)


def test_shifted_features_are_flagged(churn_split):
    ref = drift.reference(churn_split.train)
    shifted = churn_split.validation.with_columns(
        (pl.col("session_rate_90d") * 3).alias("session_rate_90d"),
        pl.lit("paid_social").alias("acquisition_channel"))
    table = drift.psi(ref, shifted)
    flagged = set(table.filter(pl.col("status") == "significant")["feature"])
    assert flagged == {"session_rate_90d", "acquisition_channel"}


def test_identical_data_has_zero_psi(churn_split):
    ref = drift.reference(churn_split.train)
    assert drift.psi(ref, churn_split.train)["psi"].max() < 1e-9

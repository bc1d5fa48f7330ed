"""Churn classifier: an sklearn Pipeline trained with a bounded, seeded search.

Pure functions over feature frames (see ``features.py``); MLflow lives in ``registry.py``.

* Split: by time. Training rows are feature snapshots at earlier cutoffs, validation rows the
  snapshot at the latest cutoff whose 30-day label window is fully observed (their label windows
  do not overlap, see ``features.training_cutoffs``).
* Search: ``RandomizedSearchCV`` over a small gradient-boosting grid, ``n_iter`` candidates,
  cross-validated with ``GroupKFold`` by customer (a customer present at several training
  cutoffs never sits on both sides of a fold), scored by ROC AUC, seeded.
* The selected pipeline is refit on the training rows only, so its validation AUC is an honest
  out-of-time estimate, and that is the model that gets registered.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import polars as pl
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve
from sklearn.model_selection import GroupKFold, RandomizedSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from threadpoolctl import threadpool_limits

from ml_assets.churn.features import CATEGORICAL, FEATURE_NAMES, NUMERIC

SEED = 20260101
# OpenMP threads per fit. On small, shared machines the histogram booster is several times
# *slower* with 2+ threads (measured 5.0 s vs 0.7 s for 20k rows on 2 vCPUs); raise it on big hosts.
THREADS = int(os.environ.get("ANALYTICS_ML_THREADS", "1"))


def limited_threads():
    """Context: at most ``THREADS`` OpenMP threads for fitting and predicting (see ``THREADS``)."""
    return threadpool_limits(limits=THREADS, user_api="openmp")


SEARCH_SPACE = {
    "model__learning_rate": [0.03, 0.06, 0.1],
    "model__max_depth": [3, 4, 6],
    "model__max_leaf_nodes": [15, 31],
    "model__min_samples_leaf": [20, 50, 100],
    "model__l2_regularization": [0.0, 1.0],
    "model__max_iter": [100, 200],
}


def build_pipeline(seed: int = SEED) -> Pipeline:
    """Preprocessing (one-hot categoricals, numerics as they are) + gradient boosting."""
    pre = ColumnTransformer(
        [("numeric", "passthrough", NUMERIC),
         ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL)],
        verbose_feature_names_out=False,
    )
    model = HistGradientBoostingClassifier(early_stopping=False, random_state=seed)
    return Pipeline([("preprocess", pre), ("model", model)])


def to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    """Model input: the feature columns in a fixed order with stable dtypes."""
    out = frame.select(
        [pl.col(c).cast(pl.Float64) for c in NUMERIC] + [pl.col(c).cast(pl.Utf8).fill_null("unknown") for c in CATEGORICAL]
    ).to_pandas()
    for c in CATEGORICAL:
        out[c] = out[c].astype(object)
    return out


@dataclass
class TrainResult:
    pipeline: Pipeline
    best_params: dict
    cv_auc: float
    validation_auc: float
    train_rows: int
    validation_rows: int
    train_churn_rate: float
    validation_churn_rate: float
    threshold: float
    seconds: float
    validation_scores: np.ndarray = field(repr=False)
    validation_labels: np.ndarray = field(repr=False)
    cv_results: pl.DataFrame = field(repr=False)

    def metrics(self) -> dict[str, float]:
        cm = self.confusion()
        tn, fp, fn, tp = cm.ravel()
        return {
            "validation_auc": self.validation_auc,
            "cv_auc": self.cv_auc,
            "validation_precision": float(tp / max(tp + fp, 1)),
            "validation_recall": float(tp / max(tp + fn, 1)),
            "validation_churn_rate": self.validation_churn_rate,
            "train_churn_rate": self.train_churn_rate,
            "train_rows": float(self.train_rows),
            "validation_rows": float(self.validation_rows),
            "train_seconds": self.seconds,
        }

    def confusion(self) -> np.ndarray:
        return confusion_matrix(self.validation_labels, self.validation_scores >= self.threshold, labels=[0, 1])

    def roc(self) -> tuple[np.ndarray, np.ndarray]:
        fpr, tpr, _ = roc_curve(self.validation_labels, self.validation_scores)
        return fpr, tpr


def labelled(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("churned").is_not_null())


def train(train_rows: pl.DataFrame, validation_rows: pl.DataFrame, *, seed: int = SEED, n_iter: int = 6,
          cv_folds: int = 3, n_jobs: int = 1) -> TrainResult:
    """Search, refit on the training rows, evaluate out of time on the validation rows."""
    started = time.perf_counter()
    train_rows, validation_rows = labelled(train_rows), labelled(validation_rows)
    if train_rows.is_empty() or validation_rows.is_empty():
        raise ValueError("no labelled rows to train or validate on")
    x, y = to_pandas(train_rows), train_rows["churned"].to_numpy()
    xv, yv = to_pandas(validation_rows), validation_rows["churned"].to_numpy()
    search = RandomizedSearchCV(
        build_pipeline(seed), SEARCH_SPACE, n_iter=n_iter, scoring="roc_auc",
        cv=GroupKFold(n_splits=cv_folds), random_state=seed, n_jobs=n_jobs, refit=True,
    )
    with limited_threads():
        search.fit(x, y, groups=train_rows["customer_id"].to_numpy())
        scores = search.best_estimator_.predict_proba(xv)[:, 1]
    cv = pl.DataFrame({
        "params": [str(p) for p in search.cv_results_["params"]],
        "mean_auc": search.cv_results_["mean_test_score"],
        "std_auc": search.cv_results_["std_test_score"],
    }).sort("mean_auc", descending=True)
    return TrainResult(
        pipeline=search.best_estimator_,
        best_params={k.removeprefix("model__"): v for k, v in search.best_params_.items()},
        cv_auc=float(search.best_score_),
        validation_auc=float(roc_auc_score(yv, scores)),
        train_rows=len(y), validation_rows=len(yv),
        train_churn_rate=float(y.mean()), validation_churn_rate=float(yv.mean()),
        # the training base rate as threshold: flags customers riskier than average
        threshold=float(y.mean()),
        seconds=time.perf_counter() - started,
        validation_scores=scores, validation_labels=yv, cv_results=cv,
    )


def auc_of(model, rows: pl.DataFrame) -> float:
    """ROC AUC of any fitted classifier with ``predict_proba`` on labelled feature rows."""
    rows = labelled(rows)
    with limited_threads():
        scores = model.predict_proba(to_pandas(rows))[:, 1]
    return float(roc_auc_score(rows["churned"].to_numpy(), scores))


def importance(result: TrainResult, validation_rows: pl.DataFrame, *, seed: int = SEED,
               max_rows: int = 4000, repeats: int = 3) -> pl.DataFrame:
    """Permutation importance (drop in validation AUC) per input feature, largest first."""
    rows = labelled(validation_rows)
    if rows.height > max_rows:
        rows = rows.sample(max_rows, seed=seed)
    with limited_threads():
        got = permutation_importance(result.pipeline, to_pandas(rows), rows["churned"].to_numpy(),
                                     scoring="roc_auc", n_repeats=repeats, random_state=seed)
    return pl.DataFrame({
        "feature": FEATURE_NAMES, "importance": got.importances_mean, "std": got.importances_std,
    }).sort("importance", descending=True)

"""Compare a baseline and a few scikit-learn model families by cross-validation; keep the best.

Families (``candidates``): the baseline (always the mean / the most frequent class), a linear model
(ridge / logistic regression on standardised numbers), a random forest and gradient-boosted trees,
each behind the same preprocessing (``preprocessing``). Folds (``folds``): ``TimeSeriesSplit`` when
the rows have a time column (each fold is scored on rows later than the ones it learned from),
else shuffled ``KFold`` (regression) or ``StratifiedKFold`` (classification), seeded. Scores:
R² for regression, balanced accuracy for classification (the majority-class baseline scores
1 / number of classes, however unbalanced). The best mean score wins; a family must beat the
baseline by ``MIN_GAIN`` to count as a model at all.

Everything here is pure scikit-learn on a pandas frame; imported inside the asset (sklearn is
not loaded with the definitions).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor, RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit, cross_validate
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from analytics_platform.defs.reports.dataset_models.features import MAX_ONE_HOT, FeaturePlan

FOLDS = 5
MAX_ITER = 300  # logistic regression: enough on scaled inputs; bounds its time on large, unbalanced samples
SEED = 0
MIN_GAIN = 0.02  # a family must beat the baseline's score by this much to be called a model
FOREST_ROWS = 5_000  # rows each tree of the forest sees (a bootstrap sample): keeps 50k-row fits to seconds
SCORING = {"regression": "r2", "classification": "balanced_accuracy"}
METRIC = {"regression": "R²", "classification": "balanced accuracy"}
BASELINE = {"regression": "the mean", "classification": "the most frequent class"}


def preprocessing(p: FeaturePlan) -> ColumnTransformer:
    numeric = make_pipeline(SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="(missing)", keep_empty_features=True),
        OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=MAX_ONE_HOT, sparse_output=False),
    )
    return ColumnTransformer([("numeric", numeric, p.numeric), ("categorical", categorical, p.categorical)], verbose_feature_names_out=False)


def candidates(task: str, rows: int) -> dict[str, Any]:
    """Family name → estimator (unfitted, seeded). The first is the baseline."""
    forest = {"n_estimators": 100, "min_samples_leaf": 2, "max_features": 0.5, "random_state": SEED, "n_jobs": 1,
              "max_samples": min(1.0, FOREST_ROWS / max(rows, 1))}
    if task == "regression":
        return {
            "mean (baseline)": DummyRegressor(strategy="mean"),
            # The penalty chosen by efficient leave-one-out: correlated columns (sums of others) share weight
            # instead of cancelling each other with huge opposite coefficients.
            "linear (ridge)": RidgeCV(alphas=np.logspace(-3, 3, 13)),
            "random forest": RandomForestRegressor(**forest),
            "gradient boosting": HistGradientBoostingRegressor(random_state=SEED),
        }
    return {
        "most frequent class (baseline)": DummyClassifier(strategy="most_frequent"),
        "linear (logistic)": LogisticRegression(max_iter=MAX_ITER),
        "random forest": RandomForestClassifier(**forest),
        "gradient boosting": HistGradientBoostingClassifier(random_state=SEED),
    }


def folds(task: str, time_ordered: bool) -> Any:
    if time_ordered:
        return TimeSeriesSplit(n_splits=FOLDS)
    if task == "classification":
        return StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    return KFold(n_splits=FOLDS, shuffle=True, random_state=SEED)


def describe_folds(task: str, time_ordered: bool) -> str:
    if time_ordered:
        return f"{FOLDS} forward-in-time folds (TimeSeriesSplit: each scored on later rows than it learned from)"
    kind = "stratified " if task == "classification" else ""
    return f"{FOLDS} shuffled {kind}folds (seed {SEED})"


@dataclass
class Comparison:
    task: str
    metric: str
    scoring: str
    baseline: str  # family name of the baseline
    best: str  # family name of the winner (the baseline when nothing beats it by MIN_GAIN)
    scores: dict[str, list[float]]  # family → score per fold
    seconds: dict[str, float]
    folds: str
    pipeline: Pipeline  # the winner, unfitted
    fold_models: list[Pipeline]  # the winner fitted on each fold's training rows
    fold_tests: list[Any]  # each fold's test row positions
    classes: list[Any] = field(default_factory=list)

    def mean(self, family: str) -> float:
        return float(np.mean(self.scores[family]))

    @property
    def beats_baseline(self) -> bool:
        return self.best != self.baseline


def compare(frame: Any, p: FeaturePlan, task: str) -> Comparison:
    X, y = frame[p.features], frame[p.target]
    if task == "classification":
        y = y.astype(str)
    splitter = folds(task, p.time_column is not None)
    scores: dict[str, list[float]] = {}
    seconds: dict[str, float] = {}
    pipelines: dict[str, Pipeline] = {}
    fitted: dict[str, Any] = {}
    for name, estimator in candidates(task, len(frame)).items():
        pipelines[name] = Pipeline([("preprocess", preprocessing(p)), ("model", estimator)])
        start = time.perf_counter()
        # A fold can fail for a family (a time fold with one class only): the family is then left out.
        result = cross_validate(pipelines[name], X, y, cv=splitter, scoring=SCORING[task], error_score=np.nan,
                                return_estimator=True, return_indices=True)
        fitted[name] = result
        seconds[name] = round(time.perf_counter() - start, 3)
        scores[name] = [float(s) for s in result["test_score"]]
    baseline = next(iter(scores))
    complete = [n for n in scores if np.isfinite(scores[n]).all()]
    best = max(complete, key=lambda n: float(np.mean(scores[n])))
    if float(np.mean(scores[best])) < float(np.mean(scores[baseline])) + MIN_GAIN:
        best = baseline
    return Comparison(
        task, METRIC[task], SCORING[task], baseline, best, scores, seconds, describe_folds(task, p.time_column is not None),
        clone(pipelines[best]), list(fitted[best]["estimator"]), list(fitted[best]["indices"]["test"]),
        sorted(y.unique().tolist()) if task == "classification" else [],
    )

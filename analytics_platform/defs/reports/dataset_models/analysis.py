"""A dataset → its model analysis: target, features, rows, comparison, explanation, as one JSON-able dict.

The steps (each in its own module): ``target.choose`` (the YAML, or a proposal, or no model and
why), ``features.plan`` and ``features.load`` (columns by role; rows, sampled above
``features.MAX_ROWS``), ``training.compare`` (baseline and families, cross-validated),
``explain.explain`` and ``explain.sentences`` (permutation importance, partial dependence, plain
language). A dataset without a target, with too few rows or without usable columns gets a result
too: ``status`` says which and ``reason`` says why, in words the dashboard shows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from analytics_platform.defs.reports.dataset_models import features as feat
from analytics_platform.defs.reports.dataset_models.target import Target, choose, how_to_name
from analytics_platform.defs.reports.profiles.sql import jsonable

MIN_ROWS = 30


@dataclass
class Analysis:
    result: dict[str, Any]  # what is stored beside the profile and shown on the dashboard
    model: Any = None  # the fitted pipeline, when one was trained
    example: Any = None  # a few rows of its input (the MLflow signature)


def analyse(con: duckdb.DuckDBPyConnection, profile: dict[str, Any], datasets_dir: Path, max_rows: int = feat.MAX_ROWS) -> Analysis:
    start = time.perf_counter()
    target = choose(profile, datasets_dir)
    result: dict[str, Any] = {
        "dataset": profile["dataset"], "fingerprint": profile.get("fingerprint"),
        "trained_at": datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
        "target": target.column, "task": target.task, "target_source": target.source, "target_reason": target.reason,
        "spec_file": target.spec_file,
    }
    if target.column is None:
        return Analysis({**result, "status": "no_target", "reason": target.reason})
    p = feat.plan(profile, target.column, target.exclude)
    result.update(features={"numeric": p.numeric, "categorical": p.categorical, "derived": p.derived}, left_out=p.left_out,
                  time_column=p.time_column)
    if not p.features:
        return Analysis({**result, "status": "no_features", "reason": f"No model: no column can be a feature of `{target.column}` "
                         f"(left out: {', '.join(f'`{k}` ({v})' for k, v in p.left_out.items()) or 'none'})."})
    rows = feat.load(con, profile["dataset"], p, max_rows)
    frame = rows.frame
    result.update(rows=len(frame), available=rows.available, sampled=rows.sampled)
    problem = _too_little(frame, target)
    if problem:
        return Analysis({**result, "status": "too_few_rows", "reason": problem + " " + how_to_name(profile["dataset"], datasets_dir)})
    loaded = time.perf_counter()

    from threadpoolctl import threadpool_limits

    from analytics_platform.defs.reports.dataset_models import explain, training
    from ml_assets.churn.training import THREADS  # ANALYTICS_ML_THREADS, as for the churn model

    # Every thread pool (OpenMP for the trees, BLAS for the linear models) at THREADS: on this shared
    # 2-core box a 2-thread BLAS made one logistic fit 17.5 s instead of 0.75 s (bench/model_analysis.py).
    with threadpool_limits(limits=THREADS):
        comparison = training.compare(frame, p, target.task or "regression")
        compared = time.perf_counter()
        explanation = explain.explain(frame, p, comparison) if comparison.beats_baseline else None
        explained = time.perf_counter()
    result.update(
        status="trained" if explanation else "no_better_than_baseline",
        model_family=comparison.best, metric=comparison.metric, scoring=comparison.scoring,
        comparison={"folds": comparison.folds, "baseline": comparison.baseline, "best": comparison.best,
                    "scores": comparison.scores, "means": {k: comparison.mean(k) for k in comparison.scores}, "seconds": comparison.seconds},
        cv_score=comparison.mean(comparison.best), baseline_score=comparison.mean(comparison.baseline),
        explanation=explain.sentences(target.column, comparison, explanation, len(frame), rows.available, rows.sampled, profile.get("correlations")),
    )
    if explanation:
        result.update(
            importance_rows=explanation.importance_rows, importance=explanation.importance, dependence=explanation.dependence, classes=comparison.classes,
        )
    else:
        result["reason"] = result["explanation"][0]
    result["timings"] = {"load": round(loaded - start, 3), "compare": round(compared - loaded, 3),
                         "explain": round(explained - compared, 3), "total": round(time.perf_counter() - start, 3)}
    return Analysis(jsonable(result), explanation.model if explanation else None, frame[p.features].head(5) if explanation else None)


def _too_little(frame: Any, target: Target) -> str | None:
    if len(frame) < MIN_ROWS:
        return f"No model: only {len(frame):,} rows have `{target.column}`; cross-validation needs at least {MIN_ROWS}."
    if target.task == "classification":
        counts = frame[target.column].astype(str).value_counts()
        if len(counts) < 2:
            return f"No model: `{target.column}` has a single value ({counts.index[0]}) in every row; there is nothing to predict."
    elif frame[target.column].nunique() < 2:
        return f"No model: `{target.column}` is the same in every row; there is nothing to predict."
    return None

"""Measure the ML layer against the generator's planted truth, without Dagster or a warehouse.

    python -m ml_assets.evaluate --scale 1 --seed 42            # all figures, one shop
    python -m ml_assets.evaluate --scale 1 --anomaly-seeds 6    # pool anomaly days over 6 seeds

Prints one JSON document: churn AUC (documented label, and among customers truly alive at the
cutoff) with training time, experiment lift/CI vs the true lift, anomaly precision/recall, and
the forecast backtest (MASE/MAPE vs seasonal naive).
"""

from __future__ import annotations

import argparse
import json
import time

import duckdb
import numpy as np
import polars as pl
from sklearn.metrics import roc_auc_score

from analytics_platform.sample_data import ShopData, generate
from ml_assets.anomalies import detection
from ml_assets.churn import features, training
from ml_assets.common import inputs
from ml_assets.experiments import analysis
from ml_assets.forecast import model as forecast_model


def _con(data: ShopData) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    inputs.register_frames(con, data.tables)
    return con


def churn(data: ShopData, con: duckdb.DuckDBPyConnection, n_iter: int) -> dict:
    started = time.perf_counter()
    start, end = features.history_bounds(con)
    train_cutoffs, validation = features.training_cutoffs(start, end)
    train, val = features.feature_snapshots(con, train_cutoffs), features.feature_snapshots(con, [validation])
    feature_seconds = time.perf_counter() - started
    result = training.train(train, val, n_iter=n_iter)
    v = val.with_row_index("row").join(data.customer_truth.select("customer_id", "churned_at"), on="customer_id",
                                       how="left").sort("row")
    alive = (v["churned_at"].is_null() | (v["churned_at"] >= v["cutoff"])).to_numpy()
    return {
        "label": features.LABEL_DEFINITION,
        "validation_auc": round(result.validation_auc, 4),
        "cv_auc": round(result.cv_auc, 4),
        "validation_auc_truly_alive_at_cutoff": round(float(roc_auc_score(result.validation_labels[alive],
                                                                          result.validation_scores[alive])), 4),
        "share_truly_alive": round(float(alive.mean()), 3),
        "train_rows": result.train_rows, "validation_rows": result.validation_rows,
        "feature_seconds": round(feature_seconds, 1), "train_seconds": round(result.seconds, 1),
        "best_params": result.best_params,
    }


def experiment(data: ShopData, con: duckdb.DuckDBPyConnection) -> dict:
    truth = data.ground_truth["experiment"]
    results = analysis.analyse(con.execute("select * from ml_in_experiment").pl())
    conv = results.filter(pl.col("metric") == "conversion").row(0, named=True)
    return {
        "true_relative_lift": truth["true_relative_lift"],
        "estimated_lift": round(conv["relative_lift"], 4),
        "ci_95": [round(conv["ci_low"], 4), round(conv["ci_high"], 4)],
        "truth_inside_ci": conv["ci_low"] <= truth["true_relative_lift"] <= conv["ci_high"],
        "p_value": round(conv["p_value"], 4), "srm_p_value": round(conv["srm_p_value"], 4),
        "srm_detected": conv["srm_detected"], "verdict": conv["verdict"],
    }


def anomalies(seeds: list[int], scale: float, days: int, first: tuple[ShopData, duckdb.DuckDBPyConnection]) -> dict:
    tp = flagged = planted = 0
    per_seed = {}
    for seed in seeds:
        data, con = first if seed == first[0].seed else (None, None)
        if data is None:
            data = generate(seed=seed, scale=scale, days=days)
            con = _con(data)
        found = detection.detect(detection.daily_metrics(con.execute("select * from ml_in_daily").pl()))
        e = detection.evaluate(found, data.ground_truth["anomalies"])
        tp += len(set(e["flagged"]) & set(e["planted"]))
        flagged += len(e["flagged"])
        planted += len(e["planted"])
        per_seed[seed] = {"precision": round(e["precision"], 3), "recall": round(e["recall"], 3),
                          "false_positives": [str(d) for d in e["false_positives"]], "missed": [str(d) for d in e["missed"]]}
    return {"precision": round(tp / max(flagged, 1), 3), "recall": round(tp / max(planted, 1), 3),
            "planted_days": planted, "flagged_days": flagged, "per_seed": per_seed}


def forecast(con: duckdb.DuckDBPyConnection) -> dict:
    daily = con.execute("select date_day, revenue, orders from ml_in_daily order by date_day").pl()
    _, backtests = forecast_model.forecast(daily)
    return {b.metric: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in b.summary().items()} for b in backtests}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--n-iter", type=int, default=6, help="candidates of the churn hyperparameter search")
    parser.add_argument("--anomaly-seeds", type=int, default=1, help="pool anomaly days over this many seeds")
    parser.add_argument("--skip", nargs="*", default=[], choices=["churn", "experiment", "anomalies", "forecast"])
    args = parser.parse_args(argv)
    started = time.perf_counter()
    data = generate(seed=args.seed, scale=args.scale, days=args.days)
    con = _con(data)
    out: dict = {"shop": {"seed": args.seed, "scale": args.scale, "days": args.days,
                          "customers": data.tables["shop.customers"]["customer_id"].n_unique(),
                          "generate_seconds": round(time.perf_counter() - started, 1)}}
    if "churn" not in args.skip:
        out["churn"] = churn(data, con, args.n_iter)
    if "experiment" not in args.skip:
        out["experiment"] = experiment(data, con)
    if "anomalies" not in args.skip:
        out["anomalies"] = anomalies(list(range(args.seed, args.seed + args.anomaly_seeds)), args.scale, args.days, (data, con))
    if "forecast" not in args.skip:
        out["forecast"] = forecast(con)
    out["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out, indent=2, default=lambda o: o.item() if isinstance(o, np.generic) else str(o)))


if __name__ == "__main__":
    main()

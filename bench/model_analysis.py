"""Model analysis of a ~1M-row dataset: ``python -m bench.model_analysis`` (target: < 60 s on 2 cores).

The dataset: the sample shop's web events joined with their session and product (event type,
time, seconds into the session, device, channel, country, product category and price, ids;
1,063,972 rows at scale 1), landed as one Parquet file in a fresh work
folder, ingested as an uncontracted dataset, with ``datasets/web_events.yml`` naming
``event_type`` as the target. Then, as the platform runs them, the dataset's profile and its
model (``reports/dataset_model``: load + sample, four families × 5 time-ordered folds, out-of-fold
permutation importance, partial dependence, refit, MLflow logging) are materialized and timed.

Floors, measured in the same run on the same sample: one plain scikit-learn fit of the chosen
pipeline (``fit``), and a plain ``cross_validate`` of that pipeline alone on the same folds (``cv``).
Results: ``bench/results/model_analysis.json``; the figures are printed as a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from bench import machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TARGET_SECONDS = 60.0
DATASET = "web_events"


def events(rows: int):
    """The sample shop's web events with their session and product (the first ``rows``): a polars frame."""
    import polars as pl

    from analytics_platform.sample_data.generate import generate

    shop = generate(seed=42, scale=max(1.0, rows / 1_063_972), days=120)
    sessions = shop.tables["web.sessions"].unique("session_id", keep="last").select("session_id", "started_at", "channel", "device", "country_code")
    products = shop.tables["shop.products"].unique("product_id", keep="last").select("product_id", "category", "unit_price")
    events = (
        shop.tables["web.events"].drop("_file_date")
        .join(sessions, on="session_id", how="left")
        .join(products, on="product_id", how="left")
        .with_columns(seconds_into_session=(pl.col("occurred_at") - pl.col("started_at")).dt.total_seconds())
        .drop("started_at")
        .head(rows)
    )
    return events


def land(landing: Path, rows: int) -> int:
    frame = events(rows)
    path = landing / DATASET / f"{DATASET}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path)
    return frame.height


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.model_analysis", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_063_972, help="rows of the dataset (default: all events of scale 1)")
    parser.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "analytics-bench-models")
    args = parser.parse_args(argv)

    import shutil

    import dagster as dg
    from threadpoolctl import threadpool_limits

    from analytics_platform.defs.ingestion.assets import raw_tables
    from analytics_platform.defs.reports.dataset_models import features, training
    from analytics_platform.defs.reports.dataset_models.assets import dataset_model
    from analytics_platform.defs.reports.profiles import store
    from analytics_platform.defs.reports.profiles.assets import PARTITIONS_NAME, dataset_profile
    from analytics_platform.resources import WarehouseResource
    from ml_assets.churn.training import THREADS

    shutil.rmtree(args.workdir, ignore_errors=True)
    landing, datasets = args.workdir / "landing", args.workdir / "datasets"
    datasets.mkdir(parents=True)
    (datasets / f"{DATASET}.yml").write_text("target: event_type\n")
    load_start = machine.load_average()
    rows = land(landing, args.rows)
    warehouse = WarehouseResource(state_dir=str(args.workdir / "state"), landing_dir=str(landing), datasets_dir=str(datasets))
    resources = {"warehouse": warehouse}
    instance = dg.DagsterInstance.ephemeral()
    start = time.perf_counter()
    ingest = dg.materialize([raw_tables], resources=resources, selection=[dg.AssetKey(["raw", "uncontracted"])], instance=instance,
                            run_config={"ops": {"raw_tables": {"config": {"settle_seconds": 0}}}})
    ingest_s = time.perf_counter() - start
    assert ingest.success
    instance.add_dynamic_partitions(PARTITIONS_NAME, [DATASET])
    timed = {}
    for asset in (dataset_profile, dataset_model):
        start = time.perf_counter()
        assert dg.materialize([asset], partition_key=DATASET, instance=instance, resources=resources).success
        timed[asset.key.to_user_string()] = time.perf_counter() - start
    result = store.load(warehouse.settings, DATASET, store.MODEL)
    assert result and result["status"] == "trained", result

    # Floors: the same sample, the chosen pipeline, plain scikit-learn.
    profile = store.load(warehouse.settings, DATASET)
    plan = features.plan(profile, result["target"])  # type: ignore[arg-type]
    with warehouse.connect(read_only=True) as con:
        frame = features.load(con, DATASET, plan).frame
    chosen = training.candidates(result["task"], len(frame))[result["model_family"]]
    from sklearn.model_selection import cross_validate
    from sklearn.pipeline import Pipeline

    pipeline = Pipeline([("preprocess", training.preprocessing(plan)), ("model", chosen)])
    X, y = frame[plan.features], frame[plan.target].astype(str)
    with threadpool_limits(limits=THREADS):  # as the asset fits
        start = time.perf_counter()
        pipeline.fit(X, y)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        cross_validate(pipeline, X, y, cv=training.folds(result["task"], plan.time_column is not None), scoring=result["scoring"])
        cv_s = time.perf_counter() - start

    model_s = timed["reports/dataset_model"]
    out = {
        "machine": machine.describe(args.workdir), "load_average": {"start": load_start, "end": machine.load_average()},
        "rows": rows, "sample_rows": result["rows"], "target": result["target"], "task": result["task"], "model_family": result["model_family"],
        "cv_score": result["cv_score"], "baseline_score": result["baseline_score"], "metric": result["metric"],
        "seconds": {"ingest": round(ingest_s, 2), "profile_asset": round(timed["reports/dataset_profile"], 2), "model_asset": round(model_s, 2),
                    "analysis": result["timings"], "families_cv": result["comparison"]["seconds"],
                    "floor_fit": round(fit_s, 3), "floor_cv_of_chosen": round(cv_s, 3)},
        "target_seconds": TARGET_SECONDS, "meets_target": model_s < TARGET_SECONDS,
        "explanation": result["explanation"],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "model_analysis.json").write_text(json.dumps(out, indent=1, default=str))
    t = out["seconds"]
    verdict = "met" if model_s < TARGET_SECONDS else "MISSED"
    print(
        f"\n| dataset | rows | sample | model | CV {result['metric']} (baseline) | model asset | target | floor: one fit | floor: CV of the chosen family |"
        "\n|---|---|---|---|---|---|---|---|---|"
        f"\n| `{DATASET}` → `{result['target']}` | {rows:,} | {result['rows']:,} | {result['model_family']} | "
        f"{result['cv_score']:.3f} ({result['baseline_score']:.3f}) | {model_s:.1f} s | < {TARGET_SECONDS:.0f} s ({verdict}) | "
        f"{fit_s:.2f} s ({model_s / fit_s:.0f}×) | {cv_s:.2f} s ({model_s / cv_s:.1f}×) |\n"
        f"\nanalysis breakdown (s): {t['analysis']}; per family CV (s): {t['families_cv']}; profile asset {t['profile_asset']:.1f} s; "
        f"ingest {t['ingest']:.1f} s; load average {out['load_average']}"
    )
    for line in result["explanation"]:
        print("  -", line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

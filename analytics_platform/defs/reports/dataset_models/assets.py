"""``reports/dataset_model``: a trained, explained model per uncontracted dataset (partition = dataset).

Beside the profile, on the same dynamic partitions and sensor: it reads the stored profile (for
the columns' roles) and the table on a read-only connection, so like the profile it takes no
slot of the ``warehouse`` pool and runs beside the warehouse's writers. The analysis
(``analysis.py``) is stored as ``<reports>/profiles/<dataset>.model.json``, the model logged and
registered in the platform's MLflow store (``tracking.py``), and the dataset's dashboard shows both.
A dataset without a clear target materializes too, saying why there is no model and how to name
a target; a dataset YAML that cannot be honoured fails the step with the reason.
"""

import dagster as dg

from analytics_platform.defs.reports.dataset_models.target import TargetError
from analytics_platform.defs.reports.profiles import store
from analytics_platform.defs.reports.profiles.assets import GROUP, MODEL_KEY, PROFILE_KEY, TAGS, stored_profile, uncontracted_datasets
from analytics_platform.resources import WarehouseResource


def _markdown(result: dict) -> str:
    lines = [f"### `{result['dataset']}` → `{result.get('target') or 'no target'}`", ""]
    lines += [f"- {s}" for s in result.get("explanation") or [result.get("reason") or ""]]
    if result.get("left_out"):
        lines += ["", "Not used as features: " + "; ".join(f"`{k}`: {v}" for k, v in result["left_out"].items())]
    return "\n".join(lines)


@dg.asset(
    key=MODEL_KEY,
    partitions_def=uncontracted_datasets,
    deps=[PROFILE_KEY],
    group_name=GROUP,
    owners=["team:data-science"],
    kinds={"scikit-learn", "mlflow"},
    tags={**TAGS, "analytics/report": "model"},
    description=(
        "Model of one uncontracted dataset: the target named in `datasets/<dataset>.yml` or proposed by the profile (or no model, "
        "and why); a baseline and linear, random-forest and gradient-boosting pipelines compared by cross-validation (forward in "
        "time when the data has a time column), the best logged and registered in MLflow as `dataset__<dataset>`, explained by "
        "permutation importance and partial dependence in plain language. Read-only (no warehouse pool slot); stored as "
        "`<reports>/profiles/<dataset>.model.json` and shown on the dataset's dashboard."
    ),
)
def dataset_model(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from analytics_platform.defs.reports.dataset_models import tracking
    from analytics_platform.defs.reports.dataset_models.analysis import analyse

    dataset = context.partition_key
    settings = warehouse.settings
    profile = stored_profile(warehouse, dataset)
    with warehouse.connect(read_only=True) as con:
        try:
            analysis = analyse(con, profile, settings.datasets_dir)
        except TargetError as e:
            raise dg.Failure(description=str(e)) from None
    result = analysis.result
    if analysis.model is not None:
        result["mlflow"] = tracking.log(settings.mlflow_store, result, analysis.model, analysis.example)
    path = store.save(settings, result, context.run_id, store.MODEL)
    context.log.info(f"{dataset}: {result['status']}; " + " ".join(result.get("explanation") or [result.get("reason") or ""])[:400])
    metadata = {
        "status": result["status"],
        "target": result.get("target") or "",
        "target_source": result["target_source"],
        "target_reason": result["target_reason"],
        "explanation": dg.MetadataValue.md(_markdown(result)),
        "analysis_json": dg.MetadataValue.path(str(path)),
    }
    if "comparison" in result:
        metadata.update({
            "task": result["task"],
            "model_family": result["model_family"],
            "metric": result["metric"],
            "cv_score": round(result["cv_score"], 4),
            "baseline_score": round(result["baseline_score"], 4),
            "scores_by_family": dg.MetadataValue.json({k: round(v, 4) for k, v in result["comparison"]["means"].items()}),
            "folds": result["comparison"]["folds"],
            "rows": result["rows"],
            "sampled": result["sampled"],
            "sample_size": f"{result['rows']:,} of {result['available']:,} rows" + (" (random sample)" if result["sampled"] else ""),
            "top_features": dg.MetadataValue.json([{"feature": r["feature"], "importance": round(r["mean"], 4)}
                                                   for r in result.get("importance", [])[:5]]),
            "seconds": result["timings"]["total"],
        })
    if "mlflow" in result:
        metadata.update({"mlflow_run_id": result["mlflow"]["run_id"], "model_uri": result["mlflow"]["model_uri"]})
    return dg.MaterializeResult(metadata=metadata)

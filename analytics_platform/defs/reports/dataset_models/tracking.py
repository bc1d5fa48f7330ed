"""Log a dataset's model analysis to the platform's MLflow store (``settings.mlflow_store``, the churn model's).

One run per analysis in the experiment ``dataset_models`` (run name = dataset): params (target,
task, family, features, folds, rows), metrics (each family's cross-validated score, the baseline's,
the importances), the analysis JSON, and the fitted pipeline registered as ``dataset__<dataset>``.
The store and its URIs are ``ml_assets/churn/registry.py``'s: there is one MLflow store.
"""

from __future__ import annotations

import re
from typing import Any

from analytics_platform.settings import MlflowStore

EXPERIMENT = "dataset_models"
# Beyond the churn model's: the dtype the one-hot encoder keeps (a plain numpy type, no code), and
# the random forest's node storage. skops flags the latter because a crafted file could index out of
# bounds; this store only holds models this platform trained and wrote (as for the churn model's trees).
SKOPS_TRUSTED_TYPES = ["numpy.dtype", "sklearn.tree._tree.Tree"]


def model_name(dataset: str) -> str:
    return f"dataset__{dataset}"


def _key(text: str) -> str:
    """MLflow metric names: letters, digits, ``_-./`` and spaces only."""
    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", text)[:200]


def log(store: MlflowStore, result: dict[str, Any], model: Any, example: Any) -> dict[str, str]:
    import mlflow
    from mlflow.models import infer_signature

    from ml_assets.churn import registry

    registry.disable_noise()
    with registry.tracking(store, experiment=EXPERIMENT), mlflow.start_run(run_name=result["dataset"]) as run:
        mlflow.log_params({
            "dataset": result["dataset"], "target": result["target"], "task": result["task"], "model_family": result["model_family"],
            "target_source": result["target_source"], "time_column": result.get("time_column") or "",
            "folds": result["comparison"]["folds"], "rows": result["rows"], "available_rows": result["available"],
            "sampled": result["sampled"], "features": ", ".join(result["features"]["numeric"] + result["features"]["categorical"])[:6000],
        })
        metrics = {f"cv {_key(name)}": score for name, score in result["comparison"]["means"].items()}
        metrics.update({"cv_score": result["cv_score"], "baseline_score": result["baseline_score"]})
        metrics.update({f"importance {_key(r['feature'])}": r["mean"] for r in result.get("importance", [])[:50]})
        mlflow.log_metrics(metrics)
        mlflow.set_tags({"dataset": result["dataset"], "fingerprint": result.get("fingerprint") or ""})
        mlflow.log_dict(result, "analysis.json")
        info = mlflow.sklearn.log_model(
            model, name="model", signature=infer_signature(example, model.predict(example)), input_example=example,
            registered_model_name=model_name(result["dataset"]), pip_requirements=registry._requirements(),
            skops_trusted_types=[*registry.SKOPS_TRUSTED_TYPES, *SKOPS_TRUSTED_TYPES],
        )
        return {"run_id": run.info.run_id, "experiment": EXPERIMENT, "registered_model": model_name(result["dataset"]),
                "version": str(info.registered_model_version), "model_uri": f"models:/{model_name(result['dataset'])}/{info.registered_model_version}",
                "ui": registry.ui_command(store)}

"""MLflow tracking and Model Registry, and champion/challenger promotion.

Where MLflow keeps things is ``settings.mlflow_store`` (one place): embedded, everything lives
under ``settings.mlflow_dir`` (default ``.state/mlflow``): runs, metrics and the registry in
``mlflow.db`` (SQLite), artifacts (plots, the model itself) in ``artifacts/``, no server involved.
In shared mode runs and registry are in PostgreSQL (``ANALYTICS_MLFLOW_URL``, password from
``PGPASSWORD``) and artifacts on the object store (``<ANALYTICS_FILES_URL>mlflow/``), so any
machine sees the same champion. Browse it with ``ui_command(store)``, e.g.::

    mlflow ui --backend-store-uri sqlite:///.state/mlflow/mlflow.db \\
              --default-artifact-root .state/mlflow/artifacts --port 5000

Promotion rule (``decide``): a freshly registered version becomes the ``champion`` alias when its
validation AUC clears the absolute floor AND beats the current champion, re-scored on the *same*
validation rows, by at least ``min_improvement``. Otherwise the champion stays and the decision's
``reason`` says why; the decision is also written onto the version as tags.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from analytics_platform.settings import MlflowStore, environment

MODEL_NAME = "churn_model"
EXPERIMENT_NAME = "churn"
CHAMPION = "champion"
AUC_FLOOR = 0.75
MIN_IMPROVEMENT = 0.0
# MLflow stores scikit-learn models with skops, which only loads types on an allow-list; the
# gradient-boosting trees' node arrays are the one type outside its defaults.
SKOPS_TRUSTED_TYPES = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]


def ui_command(store: MlflowStore) -> str:
    return f"mlflow ui --backend-store-uri {store.tracking_uri} --default-artifact-root {store.artifact_location}"


@contextlib.contextmanager
def tracking(store: MlflowStore, experiment: str = EXPERIMENT_NAME) -> Iterator:
    """Point MLflow (fluent API and client) at ``store`` for the duration of the block."""
    import mlflow

    if store.local_dir is not None:
        store.local_dir.mkdir(parents=True, exist_ok=True)
    previous_tracking, previous_registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    uri = store.tracking_uri
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        with environment({"MLFLOW_S3_ENDPOINT_URL": store.s3_endpoint_url}):
            client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
            if client.get_experiment_by_name(experiment) is None:
                client.create_experiment(experiment, artifact_location=store.artifact_location)
            mlflow.set_experiment(experiment)
            yield client
    finally:
        mlflow.set_tracking_uri(previous_tracking)
        mlflow.set_registry_uri(previous_registry)


@dataclass
class LoggedModel:
    run_id: str
    version: str
    model_uri: str
    experiment_id: str


def _requirements() -> list[str]:
    """Pinned from the running environment: MLflow's own inference would spawn a slow subprocess."""
    import mlflow
    import numpy
    import pandas
    import sklearn

    return [f"mlflow=={mlflow.__version__}", f"scikit-learn=={sklearn.__version__}",
            f"pandas=={pandas.__version__}", f"numpy=={numpy.__version__}"]


def log_training_run(store: MlflowStore, *, pipeline, input_example, params: dict, metrics: dict[str, float],
                     tags: dict[str, str], figures: dict[str, bytes], tables: dict[str, object],
                     json_artifacts: dict[str, object], run_name: str) -> LoggedModel:
    """One MLflow run: params, metrics, plots, tables; the model with signature, registered."""
    import mlflow
    from mlflow.models import infer_signature

    from ml_assets.churn.training import limited_threads

    with tracking(store), limited_threads(), mlflow.start_run(run_name=run_name) as run:
        mlflow.log_params({k: str(v) for k, v in params.items()})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        mlflow.set_tags(tags)
        with tempfile.TemporaryDirectory() as tmp:
            for name, png in figures.items():
                path = Path(tmp) / f"{name}.png"
                path.write_bytes(png)
                mlflow.log_artifact(str(path), artifact_path="plots")
            for name, frame in tables.items():
                path = Path(tmp) / f"{name}.csv"
                frame.write_csv(path)
                mlflow.log_artifact(str(path), artifact_path="tables")
            for name, obj in json_artifacts.items():
                path = Path(tmp) / f"{name}.json"
                path.write_text(json.dumps(obj, indent=2, default=str))
                mlflow.log_artifact(str(path))
        signature = infer_signature(input_example, pipeline.predict_proba(input_example))
        info = mlflow.sklearn.log_model(
            pipeline, name="model", signature=signature, input_example=input_example.head(5),
            registered_model_name=MODEL_NAME, pip_requirements=_requirements(),
            pyfunc_predict_fn="predict_proba", skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )
        version = str(info.registered_model_version)
        client = mlflow.MlflowClient()
        for k in ("validation_auc", "cv_auc"):
            if k in metrics:
                client.set_model_version_tag(MODEL_NAME, version, k, f"{metrics[k]:.6f}")
        for k, v in tags.items():
            client.set_model_version_tag(MODEL_NAME, version, k, v)
        return LoggedModel(run.info.run_id, version, f"models:/{MODEL_NAME}/{version}", run.info.experiment_id)


@dataclass
class RegisteredVersion:
    version: str
    run_id: str
    tags: dict[str, str]


def champion(store: MlflowStore) -> RegisteredVersion | None:
    """The version holding the ``champion`` alias, if any."""
    from mlflow.exceptions import MlflowException

    if not store.exists():
        return None
    with tracking(store) as client:
        try:
            mv = client.get_model_version_by_alias(MODEL_NAME, CHAMPION)
        except MlflowException:
            return None
        return RegisteredVersion(str(mv.version), mv.run_id, dict(mv.tags))


def latest(store: MlflowStore) -> RegisteredVersion | None:
    """The newest registered version: the champion, or a challenger trained after it (refused or not)."""
    if not store.exists():
        return None
    with tracking(store) as client:
        versions = client.search_model_versions(f"name='{MODEL_NAME}'")
        if not versions:
            return None
        mv = max(versions, key=lambda v: int(v.version))
        return RegisteredVersion(str(mv.version), mv.run_id, dict(mv.tags))


def _trusted_deserialization() -> contextlib.AbstractContextManager[None]:
    """MLflow refuses to deserialize models unless told the store is trusted. This store only holds
    models this pipeline trained and wrote, so loading from it is allowed for the call only."""
    return environment({"MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true"})


def load_model(store: MlflowStore, version: str | None = None):
    """The sklearn pipeline of a version (default: the champion) from this platform's own store."""
    import mlflow

    with tracking(store), _trusted_deserialization():
        uri = f"models:/{MODEL_NAME}/{version}" if version else f"models:/{MODEL_NAME}@{CHAMPION}"
        return mlflow.sklearn.load_model(uri)


def load_json_artifact(store: MlflowStore, run_id: str, name: str) -> object:
    import mlflow

    with tracking(store):
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=f"{name}.json")
        return json.loads(Path(path).read_text())


@dataclass
class Decision:
    promote: bool
    reason: str
    challenger_version: str
    challenger_auc: float
    champion_version: str | None
    champion_auc: float | None
    floor: float
    min_improvement: float

    def as_tags(self) -> dict[str, str]:
        return {"promotion_decision": "promoted" if self.promote else "refused", "promotion_reason": self.reason}


def decide(challenger_version: str, challenger_auc: float, champion_version: str | None,
           champion_auc: float | None, *, floor: float | None = None,
           min_improvement: float | None = None) -> Decision:
    """Pure promotion rule (see module docstring); floor and margin default to the module's."""
    floor = AUC_FLOOR if floor is None else floor
    min_improvement = MIN_IMPROVEMENT if min_improvement is None else min_improvement
    args = (challenger_version, challenger_auc, champion_version, champion_auc, floor, min_improvement)
    if challenger_auc < floor:
        return Decision(False, f"validation AUC {challenger_auc:.4f} is below the floor {floor:.2f}"
                        + (f"; champion v{champion_version} stays" if champion_version else "; no champion yet"), *args)
    if champion_version is None or champion_auc is None:
        return Decision(True, f"first champion: validation AUC {challenger_auc:.4f} clears the floor {floor:.2f}", *args)
    if champion_version == challenger_version:
        return Decision(False, f"v{challenger_version} already is the champion", *args)
    if challenger_auc > champion_auc + min_improvement:
        return Decision(True, f"validation AUC {challenger_auc:.4f} beats champion v{champion_version} "
                        f"({champion_auc:.4f}) on the same rows", *args)
    return Decision(False, f"validation AUC {challenger_auc:.4f} does not beat champion v{champion_version} "
                    f"({champion_auc:.4f}) on the same rows by more than {min_improvement}; champion stays", *args)


def apply(store: MlflowStore, decision: Decision) -> None:
    """Record the decision on the challenger version and move the alias if it won."""
    with tracking(store) as client:
        for k, v in decision.as_tags().items():
            client.set_model_version_tag(MODEL_NAME, decision.challenger_version, k, v)
        if decision.promote:
            client.set_registered_model_alias(MODEL_NAME, CHAMPION, decision.challenger_version)


def challenge(store: MlflowStore, version: str, validation_rows, *, floor: float | None = None,
              min_improvement: float | None = None) -> Decision:
    """Score the challenger ``version`` and the current champion on the same labelled rows, decide,
    and record the decision (tags; the ``champion`` alias when it wins)."""
    from ml_assets.churn.training import auc_of

    challenger_auc = auc_of(load_model(store, version), validation_rows)
    champ = champion(store)
    if champ and champ.version == version:
        return Decision(False, f"v{version} already is the champion", version, challenger_auc, version,
                        challenger_auc, AUC_FLOOR if floor is None else floor,
                        MIN_IMPROVEMENT if min_improvement is None else min_improvement)
    champion_auc = auc_of(load_model(store, champ.version), validation_rows) if champ else None
    decision = decide(version, challenger_auc, champ.version if champ else None, champion_auc,
                      floor=floor, min_improvement=min_improvement)
    apply(store, decision)
    return decision


def disable_noise() -> None:
    """Quieter MLflow in batch jobs (no progress bars, no git lookups)."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

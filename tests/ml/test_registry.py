"""MLflow tracking + registry on a local store, and the champion/challenger rule."""

from __future__ import annotations

import time

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from analytics_platform.settings import MlflowStore
from ml_assets.churn import drift, registry, training
from ml_assets.common import plots


def _log(mlflow_store: MlflowStore, result: training.TrainResult, train: pl.DataFrame, validation: pl.DataFrame,
         name: str) -> registry.LoggedModel:
    fpr, tpr = result.roc()
    return registry.log_training_run(
        mlflow_store, pipeline=result.pipeline, input_example=training.to_pandas(validation.head(20)),
        params=result.best_params, metrics=result.metrics(), tags={"data_end": "2026-05-01"},
        figures={"roc_curve": plots.roc_curve(fpr, tpr, result.validation_auc),
                 "confusion_matrix": plots.confusion(result.confusion(), result.threshold)},
        tables={"cv_results": result.cv_results}, json_artifacts={"feature_reference": drift.reference(train)},
        run_name=name)


def _quick(train: pl.DataFrame, validation: pl.DataFrame) -> training.TrainResult:
    """A small pipeline fitted once (no search): fast, and as weak as its training rows."""
    started = time.perf_counter()
    with training.limited_threads():
        pipeline = training.build_pipeline().set_params(model__max_iter=30)
        pipeline.fit(training.to_pandas(train), train["churned"].to_numpy())
        scores = pipeline.predict_proba(training.to_pandas(validation))[:, 1]
    labels = validation["churned"].to_numpy()
    return training.TrainResult(pipeline, {"max_iter": 30}, float("nan"), float(roc_auc_score(labels, scores)),
                                train.height, validation.height, float(train["churned"].mean()), float(labels.mean()),
                                float(train["churned"].mean()), time.perf_counter() - started, scores, labels,
                                pl.DataFrame({"params": ["max_iter=30"], "mean_auc": [float("nan")]}))


@pytest.fixture(scope="module")
def store(tmp_path_factory, churn_split, trained):
    """v1: a weak model (trained on 300 rows), v2: the real one, v3: trained on shuffled labels."""
    mlflow_store = MlflowStore.local(tmp_path_factory.mktemp("mlflow"))
    train, val = churn_split.train, churn_split.validation
    weak = _quick(train.sample(300, seed=1), val)
    rng = np.random.default_rng(0)
    noise = _quick(train.with_columns(churned=pl.Series(rng.permutation(train["churned"].to_numpy()))), val)
    logged = {name: _log(mlflow_store, r, train, val, name) for name, r in (("weak", weak), ("real", trained), ("noise", noise))}
    return mlflow_store, logged, {"weak": weak, "real": trained, "noise": noise}


def test_run_has_params_metrics_artifacts_and_a_signed_registered_model(store):
    import mlflow

    mlflow_store, logged, _ = store
    with registry.tracking(mlflow_store) as client:
        run = client.get_run(logged["real"].run_id)
        assert run.data.metrics["validation_auc"] >= 0.8
        assert "learning_rate" in run.data.params and run.data.tags["data_end"] == "2026-05-01"
        names = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
        assert names == {"plots/roc_curve.png", "plots/confusion_matrix.png"}
        info = mlflow.models.get_model_info(logged["real"].model_uri)
        assert info.signature is not None and "days_since_last_session" in info.signature.inputs.input_names()
        assert [v.version for v in client.search_model_versions(f"name='{registry.MODEL_NAME}'")]
    assert (mlflow_store.local_dir / "mlflow.db").exists() and "mlflow ui --backend-store-uri sqlite:///" in registry.ui_command(mlflow_store)


def test_promotion_for_a_better_model_and_refusal_for_a_worse_one(store, churn_split):
    mlflow_store, logged, results = store
    val = churn_split.validation
    assert results["weak"].validation_auc < results["real"].validation_auc

    first = registry.challenge(mlflow_store, logged["weak"].version, val)
    assert first.promote and "first champion" in first.reason
    assert registry.champion(mlflow_store).version == logged["weak"].version

    better = registry.challenge(mlflow_store, logged["real"].version, val)
    assert better.promote, better.reason
    assert registry.champion(mlflow_store).version == logged["real"].version

    worse = registry.challenge(mlflow_store, logged["weak"].version, val)
    assert not worse.promote and "does not beat champion" in worse.reason
    assert registry.champion(mlflow_store).version == logged["real"].version

    junk = registry.challenge(mlflow_store, logged["noise"].version, val)
    assert not junk.promote and "below the floor" in junk.reason
    champ = registry.champion(mlflow_store)
    assert champ.version == logged["real"].version
    assert champ.tags["promotion_decision"] == "promoted"
    # the newest version is the refused one, with its training tags (what the retrain sensor reads)
    newest = registry.latest(mlflow_store)
    assert newest.version == logged["noise"].version != champ.version
    assert newest.tags["data_end"] == "2026-05-01" and newest.tags["promotion_decision"] != "promoted"


def test_the_champion_loads_and_scores_like_the_trained_pipeline(store, churn_split):
    mlflow_store, logged, results = store
    model = registry.load_model(mlflow_store, logged["real"].version)
    rows = churn_split.validation.head(200)
    expected = results["real"].pipeline.predict_proba(training.to_pandas(rows))[:, 1]
    assert np.allclose(model.predict_proba(training.to_pandas(rows))[:, 1], expected)


@pytest.mark.parametrize(("challenger", "champion", "promote"), [
    (0.70, None, False), (0.80, None, True), (0.85, 0.84, True), (0.84, 0.84, False), (0.83, 0.84, False),
])
def test_decision_rule(challenger, champion, promote):
    d = registry.decide("9", challenger, "3" if champion else None, champion)
    assert d.promote is promote and d.reason

"""The ML assets materialized with real resources on a real warehouse.

Landing files from the generator → ingestion (``raw_tables``) → ``dbt build`` (the dbt assets)
→ every ML asset and check, with MLflow in the temp state folder. Small shop (scale 0.1, 100
days: enough history for one training cutoff and a validation cutoff); the files of a 101st day
are held back for the last test, which lands them like the next day's delivery.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from analytics_platform.resources import WarehouseResource
from analytics_platform.sample_data import generate, write_landing
from ml_assets.anomalies import assets as anomaly_assets
from ml_assets.churn import registry
from ml_assets.churn.assets import churn_model, churn_scores, customer_features
from ml_assets.churn.checks import champion_challenger, feature_drift
from ml_assets.churn.retrain import churn_retrain_sensor
from ml_assets.definitions import ASSETS, CHECKS, defs

SEED, SCALE, DAYS = 42, 0.1, 100


@dataclass
class Built:
    warehouse: WarehouseResource
    instance: dg.DagsterInstance
    first: dg.ExecuteInProcessResult
    next_day: list[tuple[Path, Path]]  # (held-back file, where it lands)

    def query(self, sql: str) -> pl.DataFrame:
        with self.warehouse.connect(read_only=True) as con:
            return con.execute(sql).pl()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("ml_platform")
    generated, landing = root / "generated", root / "landing"
    write_landing(generate(seed=SEED, scale=SCALE, days=DAYS + 1), generated)
    files = [p for p in generated.rglob("*") if p.is_file() and not p.name.startswith("_")]
    last_day = max(p.stem.rsplit("_", 1)[-1] for p in files)
    next_day = []
    for path in files:
        target = landing / path.relative_to(generated)
        if path.stem.endswith(last_day):
            next_day.append((path, target))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            path.rename(target)
    warehouse = WarehouseResource(state_dir=str(root / "state"), landing_dir=str(landing))
    instance = dg.DagsterInstance.ephemeral()
    load_landing_and_build_marts(warehouse, instance)
    first = dg.materialize([*ASSETS, *CHECKS], resources={"warehouse": warehouse}, instance=instance)
    return Built(warehouse, instance, first, next_day)


def load_landing_and_build_marts(warehouse: WarehouseResource, instance: dg.DagsterInstance) -> None:
    from analytics_platform.defs.ingestion.assets import raw_tables
    from analytics_platform.defs.transform.assets import dbt_models
    from analytics_platform.defs.transform.project import dbt_resource

    ingest = dg.materialize([raw_tables], resources={"warehouse": warehouse}, instance=instance,
                            run_config={"ops": {"raw_tables": {"config": {"settle_seconds": 0}}}})
    assert ingest.success
    dbt = dg.materialize([dbt_models], resources={"warehouse": warehouse, "dbt": dbt_resource()}, instance=instance,
                         raise_on_error=False)
    assert dbt.get_asset_materialization_events(), "dbt built nothing"


def _metadata(result: dg.ExecuteInProcessResult, name: str) -> dict:
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(name)]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_every_asset_materializes_into_the_ml_schema(built):
    assert built.first.success
    tables = set(built.query("select table_name from information_schema.tables where table_schema = 'ml'")["table_name"])
    assert {"customer_features", "churn_scores", "revenue_forecast", "revenue_forecast_backtest",
            "metric_anomalies", "experiment_results", "feature_drift"} <= tables
    checks = _checks(built.first)
    assert checks["champion_challenger"].passed and "first champion" in checks["champion_challenger"].description
    assert checks["no_sample_ratio_mismatch"].passed
    assert "feature_drift" in checks


def test_model_run_and_version_are_linked_from_the_asset(built):
    md = _metadata(built.first, "churn_model")
    assert md["model_version"] == "1" and md["mlflow_run_id"] and md["validation_auc"] > 0.7
    with registry.tracking(built.warehouse.settings.mlflow_store) as client:
        assert client.get_run(md["mlflow_run_id"]).info.status == "FINISHED"
        assert str(client.get_model_version_by_alias(registry.MODEL_NAME, registry.CHAMPION).version) == "1"
    scores = built.query("select * from ml.churn_scores")
    assert scores.height == _metadata(built.first, "churn_scores")["dagster/row_count"] > 50
    assert set(scores["model_version"]) == {"1"} and scores["churn_probability"].is_between(0, 1).all()


def test_forecast_and_anomaly_metadata(built):
    fc = _metadata(built.first, "revenue_forecast")
    assert {"revenue_mase", "revenue_naive_mase", "orders_mape", "orders_mase"} <= set(fc)
    assert built.query("select count(*) as n from ml.revenue_forecast")["n"][0] == 60
    anomalies = built.query("select * from ml.metric_anomalies")
    assert set(anomalies["metric"]) == {"revenue", "orders", "conversion"}
    results = built.query("select * from ml.experiment_results")
    assert set(results["metric"]) == {"conversion", "revenue_per_user"}


def test_retrain_that_is_not_better_keeps_the_champion(built):
    again = dg.materialize([customer_features, churn_model, churn_scores, champion_challenger, feature_drift],
                           selection=[churn_model.key, churn_scores.key],
                           resources={"warehouse": built.warehouse}, instance=built.instance)
    check = _checks(again)["champion_challenger"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert "does not beat champion v1" in check.description
    assert _metadata(again, "churn_model")["model_version"] == "2"
    # a refusal with a champion in place does not block scoring: the champion keeps scoring
    assert _metadata(again, "churn_scores")["model_version"] == "1"
    assert registry.champion(built.warehouse.settings.mlflow_store).tags["data_end"]


def test_retrain_sensor_sees_nothing_to_do(built):
    with dg.build_sensor_context(instance=built.instance, resources={"warehouse": built.warehouse}) as context:
        result = churn_retrain_sensor(context)
    assert isinstance(result, dg.SkipReason), result


def test_retrain_sensor_leaves_the_first_training_to_automation(built):
    with dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral(),
                                 resources={"warehouse": built.warehouse}) as context:
        result = churn_retrain_sensor(context)
    assert isinstance(result, dg.SkipReason) and "never trained" in result.skip_message


def test_new_anomalies_are_alerted_once(built):
    found = built.query("select * from ml.metric_anomalies")
    newest = found["date_day"].max()
    here = (pl.col("date_day") == newest) & (pl.col("metric") == "orders")
    planted = found.with_columns(
        is_anomaly=pl.when(here).then(True).otherwise(pl.col("is_anomaly")),
        severity=pl.when(here).then(pl.lit("high")).otherwise(pl.col("severity")),
        z_score=pl.when(here).then(-9.0).otherwise(pl.col("z_score")))
    sent = anomaly_assets.publish_alerts(built.warehouse.settings, planted, set())
    assert f"anomaly:orders:{newest}" in sent
    with built.warehouse.connect(read_only=True) as con:
        already = anomaly_assets.alerted_keys(con, built.warehouse.settings)
    assert f"anomaly:orders:{newest}" in already
    assert anomaly_assets.publish_alerts(built.warehouse.settings, planted, already) == []


def test_definitions_load_with_the_platform():
    from analytics_platform.definitions import defs as platform

    merged = dg.Definitions.merge(platform, defs)
    dg.Definitions.validate_loadable(merged)
    graph = merged.resolve_asset_graph()
    for asset in ASSETS:
        for key in asset.keys:
            node = graph.get(key)
            assert node.group_name == "ml" and node.owners == ["team:data-science"], key
            assert node.description and node.kinds, key
            for dep in node.parent_keys:
                assert graph.has(dep), f"{key} depends on unknown {dep}"


def test_loading_the_definitions_does_not_import_the_ml_libraries():
    """Every run process loads all definitions: scikit-learn & co. load when an ML step runs."""
    heavy = ["sklearn", "scipy", "pandas", "matplotlib", "mlflow", "skops"]
    code = f"import sys, ml_assets.definitions; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_floor_failure_without_a_champion_blocks_scoring(built, tmp_path: Path, monkeypatch):
    """No champion and a challenger under the floor: the blocking check fails with ERROR and
    churn_scores does not run."""
    monkeypatch.setattr(registry, "AUC_FLOOR", 0.999)
    # same warehouse, another (empty) MLflow store
    fresh = WarehouseResource(state_dir=str(tmp_path / "state"), landing_dir=built.warehouse.landing_dir,
                              warehouse_dir=str(built.warehouse.settings.warehouse_dir))
    assert fresh.settings.mlflow_dir == tmp_path / "state" / "mlflow"
    result = dg.materialize([customer_features, churn_model, churn_scores, champion_challenger],
                            selection=[churn_model.key, churn_scores.key],
                            resources={"warehouse": fresh}, raise_on_error=False)
    check = _checks(result)["champion_challenger"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "below the floor" in check.description
    assert dg.AssetKey("churn_scores") not in {e.asset_key for e in result.get_asset_materialization_events()}
    assert registry.champion(fresh.settings.mlflow_store) is None


def test_next_day_is_scored_by_the_champion_without_retraining(built):
    """What automation runs after a new day (see test_automation.py): features and scores, not the
    model. The registered champion scores the new feature rows. Runs last: it grows the warehouse."""
    mlflow_store = built.warehouse.settings.mlflow_store
    champion = registry.champion(mlflow_store)
    before = built.query("select max(feature_cutoff) as cutoff, count(*) as n from ml.churn_scores").row(0, named=True)
    for held, target in built.next_day:
        target.parent.mkdir(parents=True, exist_ok=True)
        held.rename(target)
    load_landing_and_build_marts(built.warehouse, built.instance)

    result = dg.materialize([customer_features, churn_model, churn_scores, feature_drift, champion_challenger],
                            selection=[customer_features.key, churn_scores.key],
                            resources={"warehouse": built.warehouse}, instance=built.instance)
    after = _metadata(result, "churn_scores")
    assert after["model_version"] == champion.version and after["mlflow_run_id"] == champion.run_id
    scores = built.query("select * from ml.churn_scores")
    assert scores["feature_cutoff"].max() == before["cutoff"] + dt.timedelta(days=1)
    assert scores.height == after["dagster/row_count"] > 50 and scores["churn_probability"].is_between(0, 1).all()
    assert set(scores["model_version"]) == {champion.version}
    assert registry.champion(mlflow_store).version == champion.version  # nothing retrained or promoted
    assert dg.AssetKey("churn_model") not in {e.asset_key for e in result.get_asset_materialization_events()}

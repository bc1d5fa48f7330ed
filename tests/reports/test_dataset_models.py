"""The model of any dataset, on real public data shipped by installed packages: scikit-learn's
diabetes (regression), wine and breast_cancer (classification) with their ``target`` column,
plotly's gapminder (a time column; the target named in a YAML) and tips (no outcome column), and
plotly's iris with YAMLs that cannot be honoured.

Everything runs as the platform runs it: files landed and ingested by ``raw_tables``, partitions
added by the sensor, the profile, model and dashboard assets materialized. Known answers are
recomputed independently with plain scikit-learn and pandas on the raw CSV files: every family's
cross-validated score on the same folds, the baselines (R² ≈ 0, balanced accuracy = 1 / classes),
the known top columns (diabetes: ``bmi`` and ``s5``; gapminder: ``gdpPercap``) and the direction of
their partial dependence (the sign of their rank correlation with the target).
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor, RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from analytics_platform.defs.ingestion.assets import raw_tables
from analytics_platform.defs.reports.dataset_models.analysis import analyse
from analytics_platform.defs.reports.dataset_models.assets import dataset_model
from analytics_platform.defs.reports.dataset_models.target import TargetError, choose
from analytics_platform.defs.reports.profiles import store
from analytics_platform.defs.reports.profiles.assets import DASHBOARD_KEY, MODEL_KEY, PARTITIONS_NAME, dataset_dashboard, dataset_profile
from analytics_platform.defs.reports.profiles.sensors import EVERYTHING, MODEL_ONLY, PROFILE_FIRST, uncontracted_profile_sensor
from analytics_platform.resources import WarehouseResource
from analytics_platform.settings import MlflowStore
from tests.reports.profile_datasets import PLOTLY_DATA, RUN_CONFIG

ASSETS = [dataset_profile, dataset_model, dataset_dashboard]
YAMLS = {"gapminder": "target: lifeExp\n", "iris": "target: specis\n"}


def _land(landing: Path) -> dict[str, Path]:
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

    files = {}
    for name in ("gapminder", "tips", "iris"):
        files[name] = landing / name / f"{name}.csv"
        files[name].parent.mkdir(parents=True)
        files[name].write_bytes(gzip.decompress((PLOTLY_DATA / f"{name}.csv.gz").read_bytes()))
    for name, frame in (("diabetes", load_diabetes(scaled=False, as_frame=True).frame), ("wine", load_wine(as_frame=True).frame),
                        ("breast_cancer", load_breast_cancer(as_frame=True).frame)):
        files[name] = landing / name / f"{name}.csv"
        files[name].parent.mkdir(parents=True)
        frame.to_csv(files[name], index=False)
    # The same real data as files often come: every 10th `bmi` left empty.
    gaps = load_diabetes(scaled=False, as_frame=True).frame
    gaps.loc[gaps.index % 10 == 0, "bmi"] = np.nan
    files["diabetes_gaps"] = landing / "diabetes_gaps" / "diabetes_gaps.csv"
    files["diabetes_gaps"].parent.mkdir(parents=True)
    gaps.to_csv(files["diabetes_gaps"], index=False)
    return files


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("dataset_models")
    files = _land(tmp / "landing")
    datasets_dir = tmp / "datasets"
    datasets_dir.mkdir()
    for name, text in YAMLS.items():
        (datasets_dir / f"{name}.yml").write_text(text)
    warehouse = WarehouseResource(state_dir=str(tmp / "state"), landing_dir=str(tmp / "landing"), datasets_dir=str(datasets_dir))
    resources = {"warehouse": warehouse}
    assert dg.materialize([raw_tables], resources=resources, selection=[dg.AssetKey(["raw", "uncontracted"])], run_config=RUN_CONFIG).success
    instance = dg.DagsterInstance.ephemeral()
    tick = uncontracted_profile_sensor(dg.build_sensor_context(instance=instance, resources=resources))
    assert isinstance(tick, dg.SensorResult)
    instance.add_dynamic_partitions(PARTITIONS_NAME, [k for r in tick.dynamic_partitions_requests for k in r.partition_keys])  # type: ignore[union-attr]
    runs = {}
    for request in tick.run_requests or []:
        runs[request.partition_key] = dg.materialize(ASSETS, partition_key=request.partition_key, instance=instance, resources=resources,
                                                     raise_on_error=False)
    results = {name: store.load(warehouse.settings, name, store.MODEL) for name in files}
    for name, r in results.items():
        print(f"\n== {name}: {r and r['status']}")
        for line in (r or {}).get("explanation") or [(r or {}).get("reason")]:
            print("  -", line)
    return {"files": files, "warehouse": warehouse, "resources": resources, "instance": instance, "tick": tick, "runs": runs,
            "results": results, "datasets_dir": datasets_dir}


# --- an independent recomputation: plain scikit-learn on the raw CSV --------------------------


def _estimator(family: str, task: str, rows: int) -> Any:
    forest = {"n_estimators": 100, "min_samples_leaf": 2, "max_features": 0.5, "random_state": 0, "n_jobs": 1,
              "max_samples": min(1.0, 5000 / rows)}
    return {
        ("regression", "mean (baseline)"): DummyRegressor(),
        ("regression", "linear (ridge)"): RidgeCV(alphas=np.logspace(-3, 3, 13)),
        ("regression", "random forest"): RandomForestRegressor(**forest),
        ("regression", "gradient boosting"): HistGradientBoostingRegressor(random_state=0),
        ("classification", "most frequent class (baseline)"): DummyClassifier(),
        ("classification", "linear (logistic)"): LogisticRegression(max_iter=300),
        ("classification", "random forest"): RandomForestClassifier(**forest),
        ("classification", "gradient boosting"): HistGradientBoostingClassifier(random_state=0),
    }[(task, family)]


def _recomputed(csv: Path, target: str, numeric: list[str], categorical: list[str], task: str, time_column: str | None = None) -> dict[str, float]:
    """Every family's mean cross-validated score, from the CSV, with the documented preprocessing
    (numbers: median + missing flag, scaled; categories: one-hot, the 20 most frequent values kept)."""
    frame = pd.read_csv(csv, float_precision="round_trip")  # pandas' default parser can be 1 ulp off; DuckDB is exact
    if time_column:
        frame = frame.sort_values(time_column, kind="stable").reset_index(drop=True)
    X = frame[numeric + categorical].astype({c: str for c in categorical})
    y = frame[target]
    # The missing flag adds no column here (nothing is missing) but its code path changes floats by
    # 1e-15, which moves a boosting split: kept, to compare to 1e-9.
    pre = ColumnTransformer([
        ("n", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), numeric),
        ("c", make_pipeline(SimpleImputer(strategy="constant", fill_value="(missing)"),
                            OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=20, sparse_output=False)), categorical),
    ])
    if time_column:
        cv: Any = TimeSeriesSplit(5)
    elif task == "classification":
        cv = StratifiedKFold(5, shuffle=True, random_state=0)
    else:
        cv = KFold(5, shuffle=True, random_state=0)
    scoring = "r2" if task == "regression" else "balanced_accuracy"
    families = ["mean (baseline)", "linear (ridge)", "random forest", "gradient boosting"] if task == "regression" else [
        "most frequent class (baseline)", "linear (logistic)", "random forest", "gradient boosting"]
    with threadpool_limits(limits=1):  # as the platform fits (ANALYTICS_ML_THREADS=1): same float sums
        return {f: float(np.mean(cross_val_score(Pipeline([("p", pre), ("m", _estimator(f, task, len(frame)))]), X, y, cv=cv, scoring=scoring)))
                for f in families}


def _feature_names(r: dict[str, Any]) -> tuple[list[str], list[str]]:
    return r["features"]["numeric"], r["features"]["categorical"]


# --- tests -----------------------------------------------------------------------------------


def test_diabetes_regression_matches_plain_sklearn_on_the_same_folds(built: dict[str, Any]) -> None:
    r = built["results"]["diabetes"]
    assert r["status"] == "trained" and r["target"] == "target" and r["task"] == "regression"
    assert r["target_source"] == "proposed" and "`target` is the only column named like an outcome" in r["target_reason"]
    numeric, categorical = _feature_names(r)
    assert categorical == ["sex"] and set(numeric) == {"age", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"}
    expected = _recomputed(built["files"]["diabetes"], "target", numeric, categorical, "regression")
    assert r["comparison"]["means"] == pytest.approx(expected, abs=1e-9)
    assert r["model_family"] == max(expected, key=expected.__getitem__)
    assert abs(r["baseline_score"]) < 0.02  # the mean predicts nothing: R² ≈ 0 out of fold
    assert r["cv_score"] > 0.4
    assert r["explanation"][0].startswith(f"A {r['model_family']} model predicts `target` with R² {r['cv_score']:.2f} against "
                                          f"{r['baseline_score']:.2f} for the mean")


def test_diabetes_known_top_features_and_their_direction(built: dict[str, Any]) -> None:
    r = built["results"]["diabetes"]
    assert {i["feature"] for i in r["importance"][:2]} == {"bmi", "s5"}  # the dataset's well-known strongest predictors
    frame = pd.read_csv(built["files"]["diabetes"])
    for d in r["dependence"]:
        if d["feature"] in ("bmi", "s5"):
            rank_r = frame[d["feature"]].corr(frame["target"], method="spearman")
            assert rank_r > 0.4 and d["values"][-1] > d["values"][0]  # higher BMI / s5 → more progression, in the data and the model
            assert "Predicted `target` rises from" in next(s for s in r["explanation"] if f"as `{d['feature']}` goes" in s)


@pytest.mark.parametrize("dataset", ["wine", "breast_cancer"])
def test_classification_matches_plain_sklearn(built: dict[str, Any], dataset: str) -> None:
    r = built["results"][dataset]
    assert r["status"] == "trained" and r["task"] == "classification" and r["metric"] == "balanced accuracy"
    numeric, categorical = _feature_names(r)
    expected = _recomputed(built["files"][dataset], "target", numeric, categorical, "classification")
    assert r["comparison"]["means"] == pytest.approx(expected, abs=1e-9)
    classes = pd.read_csv(built["files"][dataset])["target"].nunique()
    assert r["baseline_score"] == pytest.approx(1 / classes)  # always the majority class: balanced accuracy 1/k
    assert r["cv_score"] > 0.9 and r["model_family"] == max(expected, key=expected.__getitem__)


def test_gapminder_yaml_target_time_aware(built: dict[str, Any]) -> None:
    r = built["results"]["gapminder"]
    assert r["target"] == "lifeExp" and r["target_source"] == "file" and r["spec_file"].endswith("gapminder.yml")
    assert r["time_column"] == "year" and "forward-in-time" in r["comparison"]["folds"]
    assert r["left_out"] == {"iso_num": "a code with 141 values (nearly an identifier)"}
    numeric, categorical = _feature_names(r)
    assert "country" in categorical and "year" in numeric
    expected = _recomputed(built["files"]["gapminder"], "lifeExp", numeric, categorical, "regression", time_column="year")
    assert r["comparison"]["means"] == pytest.approx(expected, abs=1e-9)
    assert r["importance"][0]["feature"] == "gdpPercap"  # income and life expectancy (the Preston curve)
    frame = pd.read_csv(built["files"]["gapminder"])
    assert frame["gdpPercap"].corr(frame["lifeExp"], method="spearman") > 0.7
    gdp = next(d for d in r["dependence"] if d["feature"] == "gdpPercap")
    assert gdp["values"][-1] > gdp["values"][0]


def test_no_outcome_column_no_model_and_the_reason(built: dict[str, Any]) -> None:
    r = built["results"]["tips"]
    assert r["status"] == "no_target" and r["target"] is None and "comparison" not in r
    assert "no column is clearly an outcome" in r["reason"]
    assert f"`{built['datasets_dir'] / 'tips.yml'}`: one line, `target: <column>`" in r["reason"]
    html = store.artifact_path(built["warehouse"].settings, "tips", ".html").read_text()
    assert "no column is clearly an outcome" in html and "target: &lt;column&gt;" in html


def test_yaml_naming_a_missing_column_fails_with_a_clear_error(built: dict[str, Any]) -> None:
    run = built["runs"]["iris"]
    assert not run.success and built["results"]["iris"] is None
    failure = next(e for e in run.get_step_failure_events() if e.step_key == "reports__dataset_model")
    message = failure.step_failure_data.user_failure_data.description  # type: ignore[union-attr]
    assert "iris.yml names the target `specis`, which the dataset does not have" in message and "did you mean `species`" in message


def test_yaml_naming_an_unpredictable_column_is_refused(built: dict[str, Any], tmp_path: Path) -> None:
    profile = store.load(built["warehouse"].settings, "iris")
    (tmp_path / "iris.yml").write_text("target: species_id\nexclude: [species]\n")
    with pytest.raises(TargetError, match=r"names `species_id` as the target, but its role is code"):
        choose(profile, tmp_path)  # type: ignore[arg-type]
    (tmp_path / "iris.yml").write_text("target: species\nexclude: [species_id]\n")
    target = choose(profile, tmp_path)  # type: ignore[arg-type]
    assert (target.column, target.task, target.exclude) == ("species", "classification", ("species_id",))


def test_large_tables_are_sampled_and_say_so(built: dict[str, Any]) -> None:
    warehouse = built["warehouse"]
    with warehouse.connect(read_only=True) as con:
        r = analyse(con, store.load(warehouse.settings, "gapminder"), built["datasets_dir"], max_rows=600).result  # type: ignore[arg-type]
    assert r["sampled"] and r["rows"] == 600 and r["available"] == 1704
    assert "a random sample of 600 of the 1,704 rows with `lifeExp` known" in r["explanation"][0]


def test_model_logged_to_the_platforms_mlflow_store(built: dict[str, Any]) -> None:
    import mlflow

    from ml_assets.churn import registry

    settings = built["warehouse"].settings
    r = built["results"]["diabetes"]
    with registry.tracking(settings.mlflow_store, experiment="dataset_models") as client:
        run = client.get_run(r["mlflow"]["run_id"])
        assert run.data.metrics["cv_score"] == pytest.approx(r["cv_score"]) and run.data.params["model_family"] == r["model_family"]
        with registry._trusted_deserialization():
            model = mlflow.sklearn.load_model(r["mlflow"]["model_uri"])
    frame = pd.read_csv(built["files"]["diabetes"])
    X = frame.drop(columns="target").astype({"sex": str})
    assert model.score(X, frame["target"]) > r["cv_score"]  # in sample, as fitted on every row
    assert "mlflow" not in built["results"]["tips"]


def test_asset_metadata_and_dashboard_section(built: dict[str, Any]) -> None:
    import plotly.graph_objects as go

    run = built["runs"]["diabetes"]
    meta = next(m.metadata for m in (e.event_specific_data.materialization for e in run.get_asset_materialization_events())  # type: ignore[union-attr]
                if m.asset_key == MODEL_KEY)
    r = built["results"]["diabetes"]
    assert meta["model_family"].value == r["model_family"] and meta["cv_score"].value == round(r["cv_score"], 4)
    assert meta["sample_size"].value == "442 of 442 rows" and meta["top_features"].value[0]["feature"] in ("bmi", "s5")
    from analytics_platform.code_references import CODE_REFERENCES
    from analytics_platform.defs.reports.dataset_models.definitions import defs

    (asset,) = defs.assets  # type: ignore[misc]
    assert asset.metadata_by_key[MODEL_KEY][CODE_REFERENCES]  # type: ignore[union-attr]
    from analytics_platform.defs.reports.dataset_models.charts import section

    page = section(r)
    html = store.artifact_path(built["warehouse"].settings, "diabetes", ".html").read_text()
    assert "<h2>Model</h2>" in html and r["explanation"][2].split(":")[0].replace("`", "") in html.replace("<code>", "").replace("</code>", "")
    charts = [b for b in page.blocks if hasattr(b, "figure")]
    assert len(charts) == 2 + len(r["dependence"])
    for chart in charts:
        go.Figure(chart.figure)  # valid against plotly's schema


def test_a_dashboard_shows_the_model_of_its_own_files_only(built: dict[str, Any]) -> None:
    """The dashboard is rendered before the model of new files is trained: a model of the files before is not shown."""
    from analytics_platform.defs.reports.profiles.dashboard import build_page

    profile, model = store.load(built["warehouse"].settings, "diabetes"), built["results"]["diabetes"]
    assert model["status"] == "trained" and model["fingerprint"] == profile["fingerprint"]

    def model_section(m: dict[str, Any] | None) -> Any:
        return next(s for s in build_page(profile, m).sections if s.title == "Model")

    assert model_section(model).kpis  # target, best model, CV score, rows
    older = model_section({**model, "fingerprint": "files-before"})
    assert not older.kpis and "No model analysis for this dataset yet" in older.blocks[0].items[0]


def test_sensor_runs_the_model_and_reruns_it_when_the_yaml_changes(built: dict[str, Any]) -> None:
    tick = built["tick"]
    selections = {r.partition_key: list(r.asset_selection) for r in tick.run_requests}
    # A YAML (gapminder, iris) or a column named `target` (the scikit-learn frames): the model may train, the
    # dashboard goes first. tips has neither: its model (no target) runs with the profile.
    assert {n for n, keys in selections.items() if keys == PROFILE_FIRST} == set(built["files"]) - {"tips"}
    assert selections["tips"] == EVERYTHING
    # Profile and dashboard stored: the next tick runs the model (and the dashboard again), once. Here the fixture's
    # runs did all steps; those whose model failed (a YAML naming a bad target) have no dashboard.
    context = dg.build_sensor_context(instance=built["instance"], resources=built["resources"], cursor=tick.cursor)
    models = uncontracted_profile_sensor(context)
    assert isinstance(models, dg.SensorResult)
    rendered = sorted(n for n, run in built["runs"].items() if run.success and n != "tips")
    assert len(rendered) >= 4 and sorted((r.partition_key, list(r.asset_selection)) for r in models.run_requests) == [(n, MODEL_ONLY) for n in rendered]
    (built["datasets_dir"] / "tips.yml").write_text("target: tip\n")
    try:
        context = dg.build_sensor_context(instance=built["instance"], resources=built["resources"], cursor=models.cursor)
        again = uncontracted_profile_sensor(context)
        assert isinstance(again, dg.SensorResult)
        assert [(r.partition_key, list(r.asset_selection)) for r in again.run_requests] == [("tips", MODEL_ONLY)]
        assert MODEL_KEY in MODEL_ONLY and DASHBOARD_KEY in MODEL_ONLY
    finally:
        (built["datasets_dir"] / "tips.yml").unlink()


def test_a_near_twin_column_is_named_beside_its_effect(built: dict[str, Any]) -> None:
    """Diabetes' `s1` and `s2` (total and LDL cholesterol) move together: the linear model gives them
    opposite weights, so `s1`'s dependence alone contradicts the data; the sentence says so."""
    r = built["results"]["diabetes"]
    frame = pd.read_csv(built["files"]["diabetes"])
    r_s1_s2 = frame["s1"].corr(frame["s2"])
    assert r_s1_s2 > 0.8
    for d in r["dependence"]:
        sentence = next(s for s in r["explanation"] if f"as `{d['feature']}` goes" in s)
        assert (f"`s1` moves with `s2` (r = {r_s1_s2:.2f})" in sentence) == (d["feature"] == "s1"), sentence


def test_tips_named_target_and_a_negligible_effect(built: dict[str, Any], tmp_path: Path) -> None:
    import mlflow

    from analytics_platform.defs.reports.dataset_models import tracking
    from ml_assets.churn import registry

    warehouse = built["warehouse"]
    (tmp_path / "tips.yml").write_text("target: tip\n")
    with warehouse.connect(read_only=True) as con:
        analysis = analyse(con, store.load(warehouse.settings, "tips"), tmp_path)  # type: ignore[arg-type]
    r = analysis.result
    frame = pd.read_csv(built["files"]["tips"])
    assert r["target_source"] == "file" and r["importance"][0]["feature"] == "total_bill"
    assert frame["total_bill"].corr(frame["tip"]) > 0.6  # the bill sets the tip
    smoker = next(d for d in r["dependence"] if d["feature"] == "smoker")
    raw = frame.groupby("smoker")["tip"].mean()
    assert abs(raw["Yes"] - raw["No"]) < 0.05 * frame["tip"].std()  # in the data too, smokers and others tip alike
    assert max(smoker["values"]) - min(smoker["values"]) < 0.05 * frame["tip"].std(ddof=0)
    assert any(s.startswith("Predicted `tip` barely moves with `smoker`") for s in r["explanation"])
    # The winner here is a random forest: its trees are logged to MLflow and load back (as the asset does).
    assert r["model_family"] == "random forest"
    mlflow_store = MlflowStore.local(tmp_path / "mlflow")
    logged = tracking.log(mlflow_store, r, analysis.model, analysis.example)
    with registry.tracking(mlflow_store, experiment=tracking.EXPERIMENT), registry._trusted_deserialization():
        loaded = mlflow.sklearn.load_model(logged["model_uri"])
    X = analysis.example
    assert list(loaded.predict(X)) == list(analysis.model.predict(X))


def test_an_empty_number_is_a_feature_and_its_effect_is_said(built: dict[str, Any]) -> None:
    r = built["results"]["diabetes_gaps"]
    frame = pd.read_csv(built["files"]["diabetes_gaps"])
    empty = frame["bmi"].isna().mean()
    assert r["status"] == "trained" and 0.09 < empty < 0.11
    expected = _recomputed(built["files"]["diabetes_gaps"], "target", *_feature_names(r), "regression")
    assert r["comparison"]["means"] == pytest.approx(expected, abs=1e-9)  # median + missing flag, as documented
    bmi = next(d for d in r["dependence"] if d["feature"] == "bmi")
    assert bmi["empty_share"] == pytest.approx(empty) and bmi["when_empty"] is not None
    sentence = next(s for s in r["explanation"] if "as `bmi` goes" in s)
    assert f"Where `bmi` is empty ({empty:.0%} of rows), predicted `target` is" in sentence

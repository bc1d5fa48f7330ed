"""The profile assets as the platform runs them: the sensor adds a partition per uncontracted
dataset and requests one run per change (then one for its model); each run leaves the metadata the UI shows."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import dagster as dg

from analytics_platform.defs.ingestion.assets import raw_tables
from analytics_platform.defs.reports.profiles.assets import MODEL_KEY, PARTITIONS_NAME, profile_assets
from analytics_platform.defs.reports.profiles.sensors import EVERYTHING, MODEL_ONLY, PROFILE_FIRST, uncontracted_profile_sensor
from analytics_platform.resources import WarehouseResource
from tests.reports.profile_datasets import ALL, RUN_CONFIG, N


def test_sensor_adds_a_partition_per_dataset_and_requests_one_run_each(profiled: dict[str, Any]) -> None:
    result = profiled["sensor_result"]
    assert sorted(profiled["added"]) == sorted(ALL)
    assert sorted(r.partition_key for r in result.run_requests) == sorted(ALL)
    selections = {r.partition_key: list(r.asset_selection) for r in result.run_requests}
    # breast_cancer has a column named `target`: its model may train, so profile, dashboard and contract run first;
    # tips has none (nor a YAML): its model is one sentence, in the same run.
    assert selections["breast_cancer"] == PROFILE_FIRST and selections["tips"] == EVERYTHING
    assert all(keys in (PROFILE_FIRST, EVERYTHING) for keys in selections.values())
    assert set(PROFILE_FIRST) == {a.key for a in profile_assets} and set(EVERYTHING) == set(PROFILE_FIRST) | {MODEL_KEY}
    # The next tick runs the model (and the dashboard again) of each dataset run PROFILE_FIRST whose profile and
    # dashboard are stored (the fixture ran only some); with that requested and nothing changed, the tick after skips.
    context = dg.build_sensor_context(instance=profiled["instance"], resources=profiled["resources"], cursor=result.cursor)
    models = uncontracted_profile_sensor(context)
    assert isinstance(models, dg.SensorResult)
    expected = sorted(n for n in profiled["materializations"] if selections[n] == PROFILE_FIRST)
    assert "breast_cancer" in expected and [(r.partition_key, list(r.asset_selection)) for r in models.run_requests] == [(n, MODEL_ONLY) for n in expected]
    # The run queue starts every queued dashboard run before any model run (higher dagster/priority first).
    assert {int(r.tags.get("dagster/priority", 0)) for r in result.run_requests} == {0}
    assert {int(r.tags["dagster/priority"]) for r in models.run_requests} == {-1}
    context = dg.build_sensor_context(instance=profiled["instance"], resources=profiled["resources"], cursor=models.cursor)
    assert isinstance(uncontracted_profile_sensor(context), dg.SkipReason)


def test_sensor_waits_for_a_warehouse(tmp_path: Path) -> None:
    resources = {"warehouse": WarehouseResource(state_dir=str(tmp_path / "state"), landing_dir=str(tmp_path / "landing"))}
    result = uncontracted_profile_sensor(dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral(), resources=resources))
    assert isinstance(result, dg.SkipReason) and not (tmp_path / "state").exists()  # nothing created by looking


def test_sensor_reprofiles_only_a_changed_dataset(profiled: dict[str, Any], tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(profiled["landing"] / "wind", landing / "wind")
    warehouse = WarehouseResource(state_dir=str(tmp_path / "state"), landing_dir=str(landing))
    resources = {"warehouse": warehouse}
    assert dg.materialize([raw_tables], resources=resources, selection=[dg.AssetKey(["raw", "uncontracted"])], run_config=RUN_CONFIG).success
    instance = dg.DagsterInstance.ephemeral()
    first = uncontracted_profile_sensor(dg.build_sensor_context(instance=instance, resources=resources))
    assert [r.partition_key for r in first.run_requests] == ["wind"]
    instance.add_dynamic_partitions(PARTITIONS_NAME, ["wind"])
    text = (landing / "wind" / "wind.csv").read_text().splitlines()
    # a later delivery of the same series
    (landing / "wind" / "wind_2024-01-02.csv").write_text("\n".join([text[0], *text[1:40]]) + "\n")
    assert dg.materialize([raw_tables], resources=resources, selection=[dg.AssetKey(["raw", "uncontracted"])], run_config=RUN_CONFIG).success
    second = uncontracted_profile_sensor(dg.build_sensor_context(instance=instance, resources=resources, cursor=first.cursor))
    assert [r.partition_key for r in second.run_requests] == ["wind"]
    assert second.run_requests[0].run_key != first.run_requests[0].run_key
    assert not second.dynamic_partitions_requests


def test_asset_metadata(profiled: dict[str, Any]) -> None:
    meta = profiled["materializations"]["planted__orders"]
    profile = meta["reports.dataset_profile"]
    assert profile["dagster/row_count"].value == N and profile["columns"].value == 10
    assert len(profile["insights"].value) >= 5 and "order_id" in profile["summary"].value
    assert Path(profile["profile_json"].value).is_file()
    assert Path(meta["reports.dataset_dashboard"]["dashboard"].value).is_file()
    assert meta["reports.suggested_contract"]["adoptable"].value is True
    for asset in profile_assets:
        spec = next(iter(asset.specs))
        assert spec.group_name == "reports" and spec.owners and spec.description and spec.kinds
    assert next(iter(profile_assets[0].specs)).deps[0].asset_key == dg.AssetKey(["raw", "uncontracted"])


"""Fixtures of the report tests (the ``platform`` fixture, one fresh warehouse per test, is in
``tests/conftest.py``).

``profiled``: the profile pipeline run once for the whole session, as the platform runs it. The
datasets of ``profile_datasets.py`` are landed as CSV, ingested by ``raw_tables`` into
``lake.uncontracted``, registered as partitions by the sensor and profiled by materializing the
three profile assets; the profile, dashboard and contract tests all read the result.
"""

from __future__ import annotations

import time
from typing import Any

import dagster as dg
import pytest

from analytics_platform.defs.ingestion.assets import raw_tables
from analytics_platform.defs.reports.profiles import store
from analytics_platform.defs.reports.profiles.assets import PARTITIONS_NAME, profile_assets
from analytics_platform.defs.reports.profiles.profile import compute_profile
from analytics_platform.defs.reports.profiles.sensors import uncontracted_profile_sensor
from analytics_platform.resources import WarehouseResource
from tests.reports.profile_datasets import DATASETS, RUN_CONFIG, land_real, planted_frame, write_csv


@pytest.fixture(scope="session")
def profiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What the profile run produced: ``profiles`` (name → stored profile), ``materializations``
    (name → asset → metadata), ``reports`` (the folder of the files), the ``sensor_result`` that
    started it, and the inputs (``landing``, ``files``, the planted ``frame``, ``warehouse``)."""
    tmp = tmp_path_factory.mktemp("profiles")
    landing = tmp / "landing"
    files = land_real(landing)
    frame = planted_frame()
    files["planted__orders"] = landing / "planted" / "orders" / "orders.csv"
    write_csv(files["planted__orders"], frame)
    warehouse = WarehouseResource(state_dir=str(tmp / "state"), landing_dir=str(landing))
    resources = {"warehouse": warehouse}
    timings: dict[str, float] = {}

    start = time.perf_counter()
    result = dg.materialize([raw_tables], resources=resources, selection=[dg.AssetKey(["raw", "uncontracted"])], run_config=RUN_CONFIG)
    assert result.success
    timings["ingest"] = time.perf_counter() - start

    instance = dg.DagsterInstance.ephemeral()
    sensor_result = uncontracted_profile_sensor(dg.build_sensor_context(instance=instance, resources=resources))
    assert isinstance(sensor_result, dg.SensorResult)
    added = [k for r in sensor_result.dynamic_partitions_requests for k in r.partition_keys]  # type: ignore[union-attr]
    instance.add_dynamic_partitions(PARTITIONS_NAME, added)

    materializations: dict[str, dict[str, Any]] = {}
    for request in [r for r in sensor_result.run_requests or [] if r.partition_key in DATASETS]:
        start = time.perf_counter()
        run = dg.materialize(profile_assets, partition_key=request.partition_key, instance=instance, resources=resources)
        assert run.success, request.partition_key
        timings[request.partition_key] = time.perf_counter() - start  # type: ignore[index]
        materializations[request.partition_key] = {  # type: ignore[index]
            ".".join(m.asset_key.path): m.metadata
            for m in (e.event_specific_data.materialization for e in run.get_asset_materialization_events())  # type: ignore[union-attr]
        }
    profiles = {name: store.load(warehouse.settings, name) for name in DATASETS}
    with warehouse.connect(read_only=True) as con:
        # One more real dataset profiled by the function alone (no Dagster run): dates as text.
        profiles["msft"] = compute_profile(con, "msft")
    print("\nprofile timings (s):", {k: round(v, 2) for k, v in timings.items()})
    for name, p in profiles.items():
        print(f"\n== {name}: {p['rows']:,} rows × {len(p['columns'])} columns, profiled in {p['timings']['total']:.2f} s")  # type: ignore[index]
        for insight in p["insights"]:  # type: ignore[index]
            print("  -", insight["text"])
    return {
        "tmp": tmp, "landing": landing, "files": files, "frame": frame, "warehouse": warehouse, "resources": resources,
        "instance": instance, "sensor_result": sensor_result, "added": added, "profiles": profiles,
        "materializations": materializations, "reports": warehouse.settings.reports_dir / "profiles",
    }

"""Profiling is reading: it never waits for the warehouse writers' slot, and datasets profile side by side.

On a persistent Dagster instance in a temporary DAGSTER_HOME with the project's dagster.yaml (the
``warehouse`` pool limited to 1), the pool's only slot is held by another run for the whole test,
as an ingestion or dbt run would hold it. The profiles read the warehouse the session's
``profiled`` fixture ingested; their results are checked against the sequential run of that
fixture and against the raw CSV files, read with Python's csv module.
"""

from __future__ import annotations

import csv
import multiprocessing
import shutil
import statistics
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, wait

import dagster as dg
import pytest

from analytics_platform.defs.reports.dataset_models.assets import dataset_model
from analytics_platform.defs.reports.profiles import store
from analytics_platform.defs.reports.profiles.assets import PARTITIONS_NAME, dataset_profile
from analytics_platform.resources import WAREHOUSE_POOL, WarehouseResource
from analytics_platform.settings import PROJECT_ROOT

TIMEOUT = 120  # seconds; a profile waiting this long is queued behind the writer slot
CONCURRENT = ["tips", "gapminder", "wind", "breast_cancer"]
MEASURE = {"tips": "total_bill", "gapminder": "lifeExp", "breast_cancer": "mean radius"}
VOLATILE = ("profiled_at", "timings", "run_id")


@pytest.fixture
def instance(tmp_path, monkeypatch) -> Iterator[dg.DagsterInstance]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        yield instance


@pytest.fixture
def slot_held(instance) -> Iterator[str]:
    """The id of a running run that holds the warehouse pool's only slot until the test ends."""
    holder = str(uuid.uuid4())
    instance.add_run(dg.DagsterRun(job_name="ingestion_holding_the_slot", run_id=holder, status=dg.DagsterRunStatus.STARTED))
    instance.event_log_storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)
    claim = instance.event_log_storage.claim_concurrency_slot(WAREHOUSE_POOL, holder, "raw_tables")
    assert claim.is_claimed
    info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
    assert info.slot_count == 1 and [s.run_id for s in info.claimed_slots] == [holder]
    yield holder
    instance.event_log_storage.free_concurrency_slots_for_run(holder)  # lets a blocked profile (before the fix) finish


def _profile(dataset: str, warehouse: dict[str, str], with_model: bool = False) -> tuple[str, bool, float]:
    """One profile run (and the dataset's model, ``with_model``) in its own process, as the run queue
    launches it (dg.materialize is not thread-safe: its logging setup deadlocks beside another run in the same process)."""
    start = time.perf_counter()
    assets = [dataset_profile, dataset_model] if with_model else [dataset_profile]
    with dg.DagsterInstance.get() as instance:  # the test's DAGSTER_HOME, inherited
        result = dg.materialize(assets, partition_key=dataset, instance=instance, resources={"warehouse": WarehouseResource(**warehouse)})
    return result.run_id, result.success, time.perf_counter() - start


def profile_runs(datasets: list[str], warehouse: WarehouseResource, with_model: bool = False) -> dict[str, tuple[str, bool, float]]:
    """Profile ``datasets`` at once, each in a process; fails naming those still waiting after TIMEOUT."""
    executor = ProcessPoolExecutor(max_workers=len(datasets), mp_context=multiprocessing.get_context("spawn"))
    futures = {executor.submit(_profile, name, warehouse.model_dump(exclude_none=True), with_model): name for name in datasets}
    done, waiting = wait(futures, timeout=TIMEOUT)
    executor.shutdown(wait=not waiting, cancel_futures=True)
    assert not waiting, f"still waiting after {TIMEOUT} s (queued behind the writer slot?): {sorted(futures[f] for f in waiting)}"
    return {futures[f]: f.result() for f in done}


def own_reports(profiled, tmp_path) -> WarehouseResource:
    """The fixture's warehouse and landing folder, with this test's own reports folder."""
    settings = profiled["warehouse"].settings
    return WarehouseResource(state_dir=str(tmp_path / "state"), warehouse_dir=str(settings.warehouse_dir), landing_dir=str(settings.landing_dir))


def step_window(instance: dg.DagsterInstance, run_id: str) -> tuple[float, float]:
    start = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)[0].timestamp
    end = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)[0].timestamp
    return start, end


def csv_column(path, name: str) -> list[float]:
    with open(path, newline="") as handle:
        return [float(row[name]) for row in csv.DictReader(handle) if row[name] != ""]


def test_dagster_yaml_leaves_a_run_slot_beside_profiles(instance):
    queue = instance.get_concurrency_config().run_queue_config
    limits = [lim for lim in queue.tag_concurrency_limits if lim["key"] == "analytics/report" and lim.get("value") == "profile"]
    assert len(limits) == 1 and 2 <= limits[0]["limit"] < queue.max_concurrent_runs
    assert dataset_profile.op.pool is None and dataset_model.op.pool is None


def test_a_profile_materializes_while_a_writer_holds_the_warehouse_slot(profiled, instance, slot_held, tmp_path):
    warehouse = own_reports(profiled, tmp_path)
    instance.add_dynamic_partitions(PARTITIONS_NAME, ["tips"])
    run_id, success, seconds = profile_runs(["tips"], warehouse)["tips"]
    assert success
    print(f"\nprofile run of tips with the writer slot held: {seconds:.2f} s (process start included)")
    info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
    assert [s.run_id for s in info.claimed_slots] == [slot_held]  # the writer kept its slot throughout
    assert not [s for s in info.pending_steps if s.run_id != slot_held]  # and the profile never queued for it
    stored = store.load(warehouse.settings, "tips")
    assert stored is not None and stored["rows"] == 244 and stored["run_id"] == run_id


def test_a_model_trains_while_a_writer_holds_the_warehouse_slot(profiled, instance, slot_held, tmp_path):
    warehouse = own_reports(profiled, tmp_path)
    instance.add_dynamic_partitions(PARTITIONS_NAME, ["breast_cancer"])
    run_id, success, seconds = profile_runs(["breast_cancer"], warehouse, with_model=True)["breast_cancer"]
    assert success
    print(f"\nprofile + model run of breast_cancer with the writer slot held: {seconds:.2f} s (process start included)")
    info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
    assert [s.run_id for s in info.claimed_slots] == [slot_held] and not [s for s in info.pending_steps if s.run_id != slot_held]
    model = store.load(warehouse.settings, "breast_cancer", store.MODEL)
    assert model is not None and model["run_id"] == run_id and model["status"] == "trained" and model["target"] == "target"


def test_datasets_profile_side_by_side_with_the_results_of_a_sequential_run(profiled, instance, slot_held, tmp_path):
    warehouse = own_reports(profiled, tmp_path)
    instance.add_dynamic_partitions(PARTITIONS_NAME, CONCURRENT)
    runs = profile_runs(CONCURRENT, warehouse)
    assert all(runs[name][1] for name in CONCURRENT)
    windows = sorted(step_window(instance, runs[name][0]) for name in CONCURRENT)
    print("\nconcurrent profile runs (s):", {name: round(runs[name][2], 2) for name in CONCURRENT}, "step windows:", windows)
    assert any(later[0] < earlier[1] for earlier, later in zip(windows, windows[1:], strict=False)), f"no two profiles overlapped: {windows}"

    for name in CONCURRENT:
        stored = store.load(warehouse.settings, name)
        sequential = profiled["profiles"][name]
        assert stored is not None and stored["dataset"] == name and stored["run_id"] == runs[name][0]
        assert {k: v for k, v in stored.items() if k not in VOLATILE} == {k: v for k, v in sequential.items() if k not in VOLATILE}
    for name, column in MEASURE.items():  # known answers, from the raw files
        values = csv_column(profiled["files"][name], column)
        col = next(c for c in store.load(warehouse.settings, name)["columns"] if c["name"] == column)
        assert col["count"] == len(values)
        assert col["mean"] == pytest.approx(statistics.fmean(values), rel=1e-12)
        assert col["median"] == pytest.approx(statistics.median(values), rel=1e-12)

"""After a load, the row-level dbt tests read the rows loaded since the full suite last passed
(test_scope.py): a bad row in a new day's file still blocks the run that loads it, rows the full
suite already passed are not read again, and the full suite reads everything."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import dagster as dg
import polars as pl

from analytics_platform.definitions import defs
from analytics_platform.defs.ingestion.assets import raw_tables
from analytics_platform.defs.ingestion.sensors import landing_sensor
from analytics_platform.defs.transform import test_scope
from analytics_platform.defs.transform.assets import dbt_models
from analytics_platform.defs.transform.jobs import dbt_full_suite_after_change
from analytics_platform.defs.transform.project import DBT_PROJECT
from analytics_platform.resources import WarehouseResource

from .support import build, check_results, clone_state, query, resources

NEGATIVE_TOTAL = ("stg_shop__orders", "expression_is_true_stg_shop__orders_order_total___0")


def compiled_test(state: Path, run_id: str, name: str) -> str:
    """The SQL dbt ran for test ``name`` in run ``run_id``."""
    (folder,) = (state / "dbt" / "runs").glob(f"dbt_models-{run_id[:8]}-*")
    (path,) = (folder / "run").rglob(f"{name}.sql")
    return path.read_text()


def land_orders(landing: Path, orders: pl.DataFrame, day: str) -> None:
    (landing / "shop/orders").mkdir(parents=True, exist_ok=True)
    path = landing / f"shop/orders/orders_{day}.parquet"
    orders.write_parquet(path)
    os.utime(path, (time.time() - 60, time.time() - 60))  # delivered a minute ago: settled


def landing_run(state: Path, landing: Path) -> dg.ExecuteInProcessResult:
    """The landing sensor's run, as the running platform makes it: raw tables + the models above."""
    warehouse = WarehouseResource(state_dir=str(state), landing_dir=str(landing))
    instance = dg.DagsterInstance.ephemeral()
    with dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse}, definitions=defs) as context:
        (request,) = landing_sensor(context).run_requests
    return dg.materialize(
        [raw_tables, dbt_models], selection=list(request.asset_selection), resources=resources(state, landing),
        instance=instance, run_config=request.run_config, raise_on_error=False,
    )


def test_a_bad_order_in_a_new_days_file_blocks_the_run_that_loads_it(built, shop, tmp_path):
    state = clone_state(built.state, tmp_path / "state")
    settings = WarehouseResource(state_dir=str(state)).settings
    assert test_scope.last_full_suite(settings) is not None  # the fixture's full builds passed
    orders = shop.data.tables["shop.orders"].drop("_file_date")
    next_id = orders["order_id"].max() + 1
    new_day = orders.tail(2).with_columns(
        order_id=pl.Series([next_id, next_id + 1], dtype=orders["order_id"].dtype),
        order_total=pl.Series(["12.50", "-5.00"]).cast(orders["order_total"].dtype),
    )
    land_orders(tmp_path / "landing", new_day, "2026-02-01")

    run = landing_run(state, tmp_path / "landing")

    assert not run.success
    assert check_results(run)[NEGATIVE_TOTAL] is False
    materialized = {e.asset_key.to_user_string() for e in run.get_asset_materialization_events()}
    assert "stg_shop__orders" in materialized and "fct_orders" not in materialized
    assert query(state, f"SELECT count(*) AS n FROM marts.fct_orders WHERE order_id >= {next_id}")["n"][0] == 0
    # the failing test read only the rows loaded after the last full suite
    cutoff = test_scope.loaded_after(settings, test_scope.manifest_hash(DBT_PROJECT.manifest_path), full_suite=False)
    assert cutoff and f"_loaded_at > cast('{cutoff}' as timestamp)" in compiled_test(state, run.run_id, NEGATIVE_TOTAL[1])


def test_runs_after_a_load_skip_rows_the_full_suite_passed_and_the_full_suite_reads_all(built, tmp_path):
    state = clone_state(built.state, tmp_path / "state")
    settings = WarehouseResource(state_dir=str(state)).settings
    before = test_scope.last_full_suite(settings)
    assert before is not None
    cutoff = dt.datetime.fromisoformat(before["started"])
    # A bad order version loaded before the last full suite (one planted in the past: a real
    # load always carries its own time) and a good one loaded now, so the subset run has new rows.
    with WarehouseResource(state_dir=str(state)).connect() as con:
        bad_id = con.execute("SELECT max(order_id) + 1 FROM raw.shop__orders").fetchone()[0]  # type: ignore[index]
        for order_id, total, loaded_at in ((bad_id, -5, cutoff - dt.timedelta(hours=1)), (bad_id + 1, 5, dt.datetime.now(dt.UTC).replace(tzinfo=None))):
            con.execute(
                "INSERT INTO raw.shop__orders BY NAME SELECT * EXCLUDE (order_id, order_total, _source_file, _file_hash, _loaded_at), "
                "?::DECIMAL(12,2) AS order_total, ? AS order_id, 'shop/orders/planted.parquet' AS _source_file, "
                "'planted' AS _file_hash, ?::TIMESTAMP AS _loaded_at FROM raw.shop__orders LIMIT 1",
                [total, order_id, loaded_at],
            )
    instance = dg.DagsterInstance.ephemeral()

    subset = build(state, instance, selection=["stg_shop__orders"])
    assert subset.success and check_results(subset)[NEGATIVE_TOTAL] is True
    assert test_scope.last_full_suite(settings) == before  # a subset run is not the full suite

    full = build(state, instance, raise_on_error=False)
    assert not full.success and check_results(full)[NEGATIVE_TOTAL] is False
    assert "_loaded_at >" not in compiled_test(state, full.run_id, NEGATIVE_TOTAL[1])
    assert test_scope.last_full_suite(settings) == before  # it failed: the cutoff stays


def test_a_changed_project_starts_the_full_suite_once(built, tmp_path):
    state = clone_state(built.state, tmp_path / "state")
    warehouse = WarehouseResource(state_dir=str(state))
    project = test_scope.manifest_hash(DBT_PROJECT.manifest_path)

    def tick():
        with dg.build_sensor_context(instance=built.instance, resources={"warehouse": warehouse}) as context:
            return dbt_full_suite_after_change(context)

    assert isinstance(tick(), dg.SkipReason)  # the last full suite tested this project
    test_scope.record_full_suite(warehouse.settings, "an older project", dt.datetime(2026, 1, 1))
    assert test_scope.loaded_after(warehouse.settings, project, full_suite=False) == ""  # runs test in full
    request = tick()
    assert isinstance(request, dg.RunRequest) and request.run_key == f"full-suite-{project[:16]}"

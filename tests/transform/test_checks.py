"""dbt tests run as Dagster asset checks; planted violations fail the right checks and alert."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import dagster as dg

from analytics_platform.defs.quality.alerts import alerts_source
from analytics_platform.defs.quality.sensors import alert_on_check_failure, alert_on_run_failure
from analytics_platform.resources import WarehouseResource

from .support import build, check_results, clone_state, query


def logged_alerts(state) -> str:
    """alerts.log of ``state`` as a DuckDB table expression."""
    return alerts_source(WarehouseResource(state_dir=str(state)).settings)


def test_every_dbt_test_ran_as_a_passing_check(built):
    for result in (built.first_build, built.incremental_build):
        checks = check_results(result)
        assert len(checks) >= 100
        assert all(checks.values()), sorted(k for k, ok in checks.items() if not ok)
    assert ("fct_orders", "unique_fct_orders_order_id") in check_results(built.incremental_build)


def plant_order(state: Path, **values) -> int:
    """Insert one raw order version (as if loaded now) and return its id."""
    with WarehouseResource(state_dir=str(state)).connect() as con:
        order_id, customer_id = con.execute("SELECT max(order_id) + 1, min(customer_id) FROM raw.shop__orders").fetchone()
        row = {
            "order_id": order_id, "customer_id": customer_id, "status": "shipped", "channel": "organic",
            "country_code": "DE", "order_total": 5, "ordered_at": datetime(2026, 1, 29, 10), "updated_at": datetime(2026, 1, 29, 10),
            "_source_file": "shop/orders/planted.parquet", "_file_hash": "planted", "_loaded_at": datetime.now(), **values,
        }
        con.execute(
            f"INSERT INTO raw.shop__orders BY NAME SELECT {', '.join(f'${k} AS {k}' for k in row)}", row
        )
    return order_id


def sensor_tick(sensor, instance: dg.DagsterInstance, state: Path, cursor: str | None = None):
    with dg.build_sensor_context(
        instance=instance, resources={"warehouse": WarehouseResource(state_dir=str(state))}, cursor=cursor
    ) as context:
        return sensor(context)


def test_warn_violation_fails_its_check_and_alerts_once(built, tmp_path):
    state = clone_state(built.state, tmp_path / "state")
    order_id = plant_order(state)  # an order without lines
    instance = dg.DagsterInstance.ephemeral()
    result = build(state, instance, selection=["stg_shop__orders", "fct_orders"])

    assert result.success  # warn-severity tests report, they do not block
    checks = check_results(result)
    failed = {key for key, ok in checks.items() if not ok}
    assert failed == {("fct_orders", "expression_is_true_fct_orders_item_count___0")}
    assert query(state, f"SELECT count(*) AS n FROM marts.fct_orders WHERE order_id = {order_id}")["n"][0] == 1

    first = sensor_tick(alert_on_check_failure, instance, state)
    alerts = query(state, f"SELECT kind, asset_key, check_name, severity FROM {logged_alerts(state)}")
    assert alerts.rows() == [("check_failure", "fct_orders", "expression_is_true_fct_orders_item_count___0", "WARN")]
    logged = [json.loads(line) for line in (state / "alerts.log").read_text().splitlines()]
    assert [a["check_name"] for a in logged] == ["expression_is_true_fct_orders_item_count___0"]
    sensor_tick(alert_on_check_failure, instance, state, cursor=first.cursor)
    assert query(state, f"SELECT count(*) AS n FROM {logged_alerts(state)}")["n"][0] == 1  # no repeat


def test_error_violation_blocks_the_marts_and_fails_the_run(built, tmp_path):
    state = clone_state(built.state, tmp_path / "state")
    order_id = plant_order(state, order_total=-5)
    instance = dg.DagsterInstance.ephemeral()
    result = build(state, instance, selection=["stg_shop__orders", "fct_orders"], raise_on_error=False)

    assert not result.success
    checks = check_results(result)
    assert checks[("stg_shop__orders", "expression_is_true_stg_shop__orders_order_total___0")] is False
    assert ("fct_orders", "expression_is_true_fct_orders_order_total___0") not in checks  # never ran
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "stg_shop__orders" in materialized and "fct_orders" not in materialized
    assert query(state, f"SELECT count(*) AS n FROM marts.fct_orders WHERE order_id = {order_id}")["n"][0] == 0

    # the failed run and the failed check both alert
    run = instance.get_run_by_id(result.run_id)
    failure = next(iter(instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)))
    with dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure", dagster_instance=instance, dagster_run=run,
        dagster_event=failure.dagster_event, resources={"warehouse": WarehouseResource(state_dir=str(state))},
    ) as context:
        alert_on_run_failure(context.for_run_failure())
    sensor_tick(alert_on_check_failure, instance, state)
    alerts = query(state, f"SELECT kind, severity, run_id, message FROM {logged_alerts(state)} ORDER BY kind")
    assert alerts["kind"].to_list() == ["check_failure", "run_failure"]
    assert set(alerts["run_id"]) == {result.run_id}
    assert "expression_is_true_stg_shop__orders_order_total___0" in alerts["message"][1]

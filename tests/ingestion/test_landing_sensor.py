"""The landing sensor evaluated against a real temp folder: batches, run keys, cursor, and
files that are still being written."""

from __future__ import annotations

import json
import os
import time

import dagster as dg

from analytics_platform.definitions import defs
from analytics_platform.defs.ingestion.sensors import landing_sensor


def _evaluate(platform, cursor: str | None = None):
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"warehouse": platform.warehouse},
                                          definitions=defs)
        return landing_sensor(context), context


def _land(platform, relative: str, text: str, age_seconds: float = 60.0) -> None:
    path = platform.landing / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    stamp = time.time() - age_seconds
    os.utime(path, (stamp, stamp))


def test_one_run_per_batch_with_a_stable_key_and_only_the_tables_concerned(platform):
    _land(platform, "shop/customers/customers_2026-01-01.csv", "customer_id\n1\n")
    _land(platform, "web/sessions/sessions_2026-01-01.ndjson", "{}\n")
    _land(platform, "weather/today.csv", "a,b\n1,2\n")
    result, _ = _evaluate(platform)
    (request,) = result.run_requests
    keys = sorted(k.to_user_string() for k in request.asset_selection)
    assert [k for k in keys if k.startswith("raw/")] == ["raw/shop__customers", "raw/uncontracted", "raw/web__sessions"]
    # the same run refreshes the dbt models above those raw tables, and only those
    assert {"stg_shop__customers", "dim_customers", "customers_snapshot", "stg_web__sessions", "fct_sessions"} <= set(keys)
    assert not {"stg_shop__orders", "fct_orders", "dim_products"} & set(keys)
    # on a fresh instance the seeds those models read come too (dim_customers joins countries)
    assert {"countries", "channels"} <= set(keys)
    files = request.run_config["ops"]["raw_tables"]["config"]["files"]
    assert files == ["shop/customers/customers_2026-01-01.csv", "weather/today.csv", "web/sessions/sessions_2026-01-01.ndjson"]
    again, _ = _evaluate(platform)  # same folder, no cursor: same batch, same run key (no double run)
    assert again.run_requests[0].run_key == request.run_key


def test_cursor_skips_seen_files_and_picks_up_corrections(platform):
    _land(platform, "shop/customers/a.csv", "customer_id\n1\n")
    first, _ = _evaluate(platform)
    nothing, _ = _evaluate(platform, first.cursor)
    assert isinstance(nothing, dg.SkipReason)
    _land(platform, "shop/customers/a.csv", "customer_id\n1\n2\n", age_seconds=30)  # corrected re-delivery
    _land(platform, "shop/customers/b.csv", "customer_id\n3\n")
    second, _ = _evaluate(platform, first.cursor)
    (request,) = second.run_requests
    assert request.run_config["ops"]["raw_tables"]["config"]["files"] == ["shop/customers/a.csv", "shop/customers/b.csv"]
    assert request.run_key != first.run_requests[0].run_key
    assert set(json.loads(second.cursor)) == {"shop/customers/a.csv", "shop/customers/b.csv"}


def test_files_still_being_written_wait(platform):
    _land(platform, "shop/customers/done.csv", "customer_id\n1\n")
    _land(platform, "shop/customers/partial.csv.tmp", "customer_id\n", age_seconds=60)
    _land(platform, "shop/customers/.hidden.csv", "customer_id\n")
    # Modified "just now" (a minute ahead, so the test does not depend on how fast it runs).
    _land(platform, "shop/customers/just_now.csv", "customer_id\n", age_seconds=-60)
    _land(platform, "_ground_truth.json", "{}")
    result, _ = _evaluate(platform)
    assert result.run_requests[0].run_config["ops"]["raw_tables"]["config"]["files"] == ["shop/customers/done.csv"]
    later, _ = _evaluate(platform, result.cursor)
    assert isinstance(later, dg.SkipReason)  # just_now.csv has not settled yet
    os.utime(platform.landing / "shop/customers/just_now.csv", (time.time() - 10, time.time() - 10))
    settled, _ = _evaluate(platform, result.cursor)
    assert settled.run_requests[0].run_config["ops"]["raw_tables"]["config"]["files"] == ["shop/customers/just_now.csv"]


def test_sensor_run_loads_exactly_the_batch(platform):
    _land(platform, "shop/customers/a.csv",
          "customer_id,email,first_name,last_name,country_code,acquisition_channel,signed_up_at,updated_at\n"
          "1,a@x.io,A,B,DE,organic,2026-01-01 00:00:00,2026-01-01 00:00:00\n")
    result, _ = _evaluate(platform)
    files = result.run_requests[0].run_config["ops"]["raw_tables"]["config"]["files"]
    _land(platform, "shop/customers/late.csv",
          "customer_id,email,first_name,last_name,country_code,acquisition_channel,signed_up_at,updated_at\n"
          "2,b@x.io,A,B,DE,organic,2026-01-01 00:00:00,2026-01-01 00:00:00\n")
    run = platform.ingest(files=files)
    assert run.success
    assert platform.query("SELECT _source_file FROM raw.shop__customers") == [("shop/customers/a.csv",)]
    (mat,) = run.get_asset_materialization_events()
    assert "shop/customers/a.csv" in mat.materialization.metadata["files"].value


def test_seeds_come_only_while_they_were_never_built(platform):
    _land(platform, "shop/customers/customers_2026-01-01.csv", "customer_id\n1\n")
    with dg.instance_for_test() as instance:
        for seed in ("countries", "channels"):
            instance.report_runless_asset_event(dg.AssetMaterialization(seed))
        context = dg.build_sensor_context(instance=instance, resources={"warehouse": platform.warehouse}, definitions=defs)
        (request,) = landing_sensor(context).run_requests
    keys = {k.to_user_string() for k in request.asset_selection}
    assert "dim_customers" in keys and not {"countries", "channels"} & keys


def test_the_daemon_evaluates_the_sensor_on_every_loop():
    """The sensor daemon looks every MIN_INTERVAL_LOOP_TIME (5 s) and skips a sensor whose last tick
    began less than its minimum interval ago; a tick begins a little after its loop, so a minimum
    equal to the loop skipped every other loop (landing checked every 10 s, measured in the bench's
    dagster dev log)."""
    from dagster._daemon.sensor import MIN_INTERVAL_LOOP_TIME

    assert landing_sensor.minimum_interval_seconds <= MIN_INTERVAL_LOOP_TIME / 2

"""Several writers and a reader on one DuckLake at the same time.

- 50 files dropped at once, picked up by the landing sensor and loaded while another ingestion
  process writes other tables: each file loaded exactly once, no lock error, nobody hangs.
- An ingestion run, a dbt build and a read-only poller together: no lock error anywhere, and
  every snapshot the reader sees is consistent (each raw table holds exactly the rows its ledger
  announces; a mart, once built, never disappears during a rebuild).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from tests.faults import helpers
from tests.faults.helpers import TempPlatform

HEADER = "customer_id,email,first_name,last_name,country_code,acquisition_channel,signed_up_at,updated_at"
TIMEOUT = 240  # seconds; a run still going after this is a hang


def _drop_files_at_once(platform: TempPlatform, count: int) -> list[str]:
    """Write ``count`` customer files beside the landing folder, then rename them in together
    (what a producer's atomic upload looks like), already settled for the sensor."""
    staging = platform.root / "producer"
    (staging / "shop/customers").mkdir(parents=True)
    (platform.landing / "shop/customers").mkdir(parents=True, exist_ok=True)
    relatives = []
    for i in range(count):
        rel = f"shop/customers/burst_{i:03d}.csv"
        rows = [f"{900000 + i * 10 + j},c{i}_{j}@example.com,Ann,Lee,DE,organic,2026-03-01 10:00:00,2026-03-01 10:00:00" for j in range(1 + i % 7)]
        (staging / rel).write_text("\n".join([HEADER, *rows]) + "\n")
        old = time.time() - 60
        os.utime(staging / rel, (old, old))
        relatives.append(rel)
    for rel in relatives:
        os.rename(staging / rel, platform.landing / rel)
    return relatives


def _sensor_batch(platform: TempPlatform) -> list[str]:
    """The files the real landing sensor would put in the next run."""
    from analytics_platform.definitions import defs
    from analytics_platform.defs.ingestion.sensors import landing_sensor
    from analytics_platform.resources import WarehouseResource

    warehouse = WarehouseResource(state_dir=str(platform.state), landing_dir=str(platform.landing))
    with dg.instance_for_test() as instance:
        result = landing_sensor(dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse}, definitions=defs))
    (request,) = result.run_requests
    return request.run_config["ops"]["raw_tables"]["config"]["files"]


def _commit_times(proc, started: float, times: list[float]) -> None:
    seen = helpers.output_of(proc).count("committed ")
    while len(times) < seen:
        times.append(time.monotonic() - started)


def test_fifty_files_dropped_while_another_ingestion_writes(sample_landing, temp_platform):
    platform = temp_platform
    others = [r for r in helpers.copy_landing(sample_landing, platform.landing) if not r.startswith("shop/customers/")]
    busy = platform.spawn(platform.ingest_cmd(files=others), log_name="other_writer")
    helpers.wait_for_line(busy, "STARTED", timeout=60)
    burst = _drop_files_at_once(platform, 50)
    batch = [f for f in _sensor_batch(platform) if f.startswith("shop/customers/burst_")]
    assert sorted(batch) == sorted(burst), "the sensor must put all 50 settled files in one batch"
    second = platform.spawn(platform.ingest_cmd(files=batch), log_name="burst_writer")
    started = time.monotonic()
    times: dict[str, list[float]] = {"other": [], "burst": []}
    while busy.poll() is None or second.poll() is None:
        _commit_times(busy, started, times["other"])
        _commit_times(second, started, times["burst"])
        if time.monotonic() - started > TIMEOUT:
            break
        time.sleep(0.01)
    code_busy, out_busy = helpers.finish(busy, 5)
    code_burst, out_burst = helpers.finish(second, 5)
    assert code_busy == 0, out_busy[-4000:]
    assert code_burst == 0, out_burst[-4000:]
    assert helpers.lock_errors(out_busy) == [] and helpers.lock_errors(out_burst) == []
    retries = out_busy.count("lost a commit race") + out_burst.count("lost a commit race")
    ledger = helpers.ledger_files(platform)
    assert all(rel in ledger for rel in burst), "every dropped file is loaded"
    assert helpers.exactly_once_violations(platform) == []
    assert platform.query("SELECT count(*) FROM raw.shop__customers WHERE _source_file LIKE 'shop/customers/burst_%'") == [
        (sum(1 + i % 7 for i in range(50)),)]
    # Dropping the same batch again (a retried sensor tick, a second run) loads nothing twice.
    code, out = platform.run_ingest(files=batch)
    assert code == 0, out[-3000:]
    assert helpers.exactly_once_violations(platform) == []
    print(f"commit times (s): other writer {times['other']}, burst {times['burst']}; commit-race retries: {retries}")


LOCK_BUG = pytest.mark.xfail(strict=False, reason=(
    "PLATFORM BUG (intermittent, ~1 run in 3 here): the DuckLake catalog is SQLite in rollback-journal mode and "
    "DuckDB's sqlite extension opens it without a busy timeout, so a plain read-only connection (a dashboard, a "
    "notebook: this test's reader) fails with 'Failed to query most recent snapshot for DuckLake: ... database is "
    "locked' while another process commits. Writers now retry (warehouse.with_retry); readers do not. Fix: WAL mode "
    "on the catalog (see the fault-suite report), then remove this mark."))


@LOCK_BUG
@pytest.mark.skipif(not helpers.dbt_models_exist(), reason="dbt layer absent: no models in dbt_project/models (or no dbt executable)")
def test_ingestion_dbt_build_and_reader_together(sample_landing, temp_platform, dbt_target):
    platform = temp_platform
    landed = helpers.copy_landing(sample_landing, platform.landing)
    # Days before the last ten: loaded and built first, so the marts exist while they are rebuilt.
    days = sorted({Path(r).stem.rsplit("_", 1)[-1] for r in landed if Path(r).stem.rsplit("_", 1)[-1][:2] == "20"})
    late = set(days[-10:])
    first = [r for r in landed if Path(r).stem.rsplit("_", 1)[-1] not in late]
    code, out = platform.ingest_here(files=first)
    assert code == 0, out[-3000:]
    code, out = helpers.finish(platform.spawn(helpers.dbt_cmd("build", dbt_target), cwd=helpers.DBT_PROJECT, log_name="dbt_first"), TIMEOUT)
    assert code == 0, f"a clean dbt build fails (dbt-layer bug, not a fault):\n{out[-4000:]}"
    marts = [m for m in helpers.mart_tables(platform) if m.startswith("marts.")]

    stop, report_path = platform.root / "stop_reader", platform.root / "reader.json"
    reader = platform.spawn([sys.executable, "-m", "tests.faults.driver", "reader", "--stop-file", str(stop),
                             "--out", str(report_path), "--marts", ",".join(marts)], log_name="reader")
    ingest = platform.spawn(platform.ingest_cmd(), log_name="ingest")
    dbt = platform.spawn(helpers.dbt_cmd("build", dbt_target), cwd=helpers.DBT_PROJECT, log_name="dbt")
    code_ingest, out_ingest = helpers.finish(ingest, TIMEOUT)
    code_dbt, out_dbt = helpers.finish(dbt, TIMEOUT)
    stop.touch()
    code_reader, out_reader = helpers.finish(reader, 60)

    assert code_ingest == 0, out_ingest[-4000:]
    assert code_dbt == 0, out_dbt[-4000:]
    assert code_reader == 0 and report_path.exists(), out_reader[-3000:]
    report = json.loads(report_path.read_text())
    surfaced = {name: helpers.lock_errors(text) for name, text in (("ingestion", out_ingest), ("dbt", out_dbt))}
    surfaced["reader"] = [e for e in report["errors"] if helpers.LOCK_ERRORS.search(e)]
    assert not any(surfaced.values()), f"lock errors surfaced: {surfaced}"
    assert report["errors"] == [], f"the reader failed to read: {report['errors'][:5]}"
    assert report["polls"] > 10, "the reader hardly ran: the test proved nothing"
    assert report["inconsistent"] == [], f"the reader saw inconsistent snapshots: {report['inconsistent'][:10]}"
    assert report["non_monotonic"] == [], f"row counts went backwards: {report['non_monotonic'][:10]}"
    assert helpers.exactly_once_violations(platform) == []
    assert all(helpers.reconciliation_results(platform).values())
    grew = {t: v for t, v in report["counts_seen"].items() if len(v) > 1}
    print(f"reader: {report['polls']} consistent snapshots; raw tables seen growing: {sorted(grew)}; marts seen: {len(report['marts_seen'])}")

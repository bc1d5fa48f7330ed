"""Several writers and a reader on one DuckLake at the same time.

- 50 files dropped at once, picked up by the landing sensor and loaded while another ingestion
  process writes other tables: each file loaded exactly once, no lock error, nobody hangs.
- An ingestion run, a dbt build and a read-only poller together: no lock error anywhere, and
  every snapshot the reader sees is consistent (each raw table holds exactly the rows its ledger
  announces; a mart, once built, never disappears during a rebuild). A plain reader's "database
  is locked" (fixed by WAL mode on the catalog) would be reported as an xfail, see below.
"""

from __future__ import annotations

import json
import os
import sys
import time

import dagster as dg
import pytest

from tests.faults import invariants, processes
from tests.faults.temp_platform import TempPlatform, copy_landing

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
    seen = processes.output_of(proc).count("committed ")
    while len(times) < seen:
        times.append(time.monotonic() - started)


def test_fifty_files_dropped_while_another_ingestion_writes(sample_landing, temp_platform):
    platform = temp_platform
    others = [r for r in copy_landing(sample_landing, platform.landing) if not r.startswith("shop/customers/")]
    busy = platform.spawn(platform.ingest_cmd(files=others), log_name="other_writer")
    processes.wait_for_line(busy, "STARTED", timeout=60)
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
    code_busy, out_busy = processes.finish(busy, 5)
    code_burst, out_burst = processes.finish(second, 5)
    assert code_busy == 0, out_busy[-4000:]
    assert code_burst == 0, out_burst[-4000:]
    assert processes.lock_errors(out_busy) == [] and processes.lock_errors(out_burst) == []
    retries = out_busy.count("lost a commit race") + out_burst.count("lost a commit race")
    ledger = invariants.ledger_files(platform)
    assert all(rel in ledger for rel in burst), "every dropped file is loaded"
    assert invariants.exactly_once_violations(platform) == []
    assert platform.query("SELECT count(*) FROM raw.shop__customers WHERE _source_file LIKE 'shop/customers/burst_%'") == [
        (sum(1 + i % 7 for i in range(50)),)]
    # Dropping the same batch again (a retried sensor tick, a second run) loads nothing twice.
    code, out = platform.ingest_here(files=batch)
    assert code == 0, out[-3000:]
    assert invariants.exactly_once_violations(platform) == []
    print(f"commit times (s): other writer {times['other']}, burst {times['burst']}; commit-race retries: {retries}")


# Tolerated for the external reader only, and only as a lock error: anything else this test sees
# fails it. Measured (DuckDB 1.4.4, its sqlite extension): with the catalog in rollback-journal
# mode a reader waited for a locked catalog for exactly 5 s, then failed; the catalog is now in
# WAL mode (warehouse.ensure_wal), where a read during a writer's 7 s exclusive transaction
# returned in 0.05 s, and the two clean-clone CI runs of 2026-11-22 did not hit it. The xfail
# stays so that, should it come back, it is reported with its count rather than hidden.
READER_LOCK_BUG = (
    "READER LOCK (a platform bug fixed by WAL mode on the catalog, warehouse.ensure_wal): a plain read-only "
    "connection (a notebook, a dashboard: this test's reader) failed with 'Failed to query most recent snapshot for "
    "DuckLake: ... database is locked' while ingestion and dbt committed back to back; DuckDB's sqlite extension "
    "waits up to its 5 s busy timeout and does not retry. The platform's own reads retry (warehouse.with_retry, dbt's "
    "profile retries). Seen again: WAL mode does not cover this case; find out why before removing this xfail."
)


def test_ingestion_dbt_build_and_reader_together(built_platform, tmp_path, dbt_target):
    # Built on all but the last ten days, so the marts exist while they are rebuilt; the ingestion
    # run below loads those ten days.
    platform = built_platform.clone(tmp_path / "platform")
    marts = [m for m in invariants.mart_tables(platform) if m.startswith("marts.")]

    stop, report_path = platform.root / "stop_reader", platform.root / "reader.json"
    reader = platform.spawn([sys.executable, "-m", "tests.faults.driver", "reader", "--stop-file", str(stop),
                             "--out", str(report_path), "--marts", ",".join(marts)], log_name="reader")
    ingest = platform.spawn(platform.ingest_cmd(), log_name="ingest")
    dbt = platform.spawn(processes.dbt_cmd("build", dbt_target), cwd=processes.DBT_PROJECT, log_name="dbt")
    code_ingest, out_ingest = processes.finish(ingest, TIMEOUT)
    code_dbt, out_dbt = processes.finish(dbt, TIMEOUT)
    stop.touch()
    code_reader, out_reader = processes.finish(reader, 60)

    assert code_ingest == 0, out_ingest[-4000:]
    assert code_dbt == 0, out_dbt[-4000:]
    assert code_reader == 0 and report_path.exists(), out_reader[-3000:]
    report = json.loads(report_path.read_text())
    surfaced = {name: processes.lock_errors(text) for name, text in (("ingestion", out_ingest), ("dbt", out_dbt))}
    assert not any(surfaced.values()), f"lock errors surfaced: {surfaced}"
    reader_locked = [e for e in report["errors"] if processes.LOCK_ERRORS.search(e)]
    assert [e for e in report["errors"] if e not in reader_locked] == [], f"the reader failed to read: {report['errors'][:5]}"
    assert report["polls"] - len(reader_locked) > 10, "the reader hardly ran: the test proved nothing"
    assert report["inconsistent"] == [], f"the reader saw inconsistent snapshots: {report['inconsistent'][:10]}"
    assert report["non_monotonic"] == [], f"row counts went backwards: {report['non_monotonic'][:10]}"
    assert invariants.exactly_once_violations(platform) == []
    assert all(invariants.reconciliation_results(platform).values())
    grew = {t: v for t, v in report["counts_seen"].items() if len(v) > 1}
    print(f"reader: {report['polls']} consistent snapshots; raw tables seen growing: {sorted(grew)}; marts seen: {len(report['marts_seen'])}")
    if reader_locked:
        pytest.xfail(f"{READER_LOCK_BUG} This run: {len(reader_locked)} of {report['polls']} polls failed, e.g. {reader_locked[0]}")


def test_a_handled_retry_is_not_a_surfaced_lock_error():
    """warehouse.with_retry's warning quotes DuckLake's two-line commit error: its second line
    alone must not read as a lock error that reached the user (text captured from a real run)."""
    handled = (
        "transaction lost a commit race (TransactionContext Error: Failed to commit: Failed to commit DuckLake transaction.\n"
        "Failed to flush changes into DuckLake: database is locked); retry 1 in 0.2s\n"
        "check primary_key_unique on shop__customers lost a commit race (Failed to query most recent snapshot for "
        "DuckLake: Failed to prepare query \"SELECT type FROM sqlite_master WHERE lower(name)=lower('ducklake_snapshot');\": "
        "database is locked); retry 1 in 0.2s\n"
    )
    surfaced = (
        "duckdb.duckdb.TransactionException: TransactionContext Error: Failed to commit: Failed to commit DuckLake transaction.\n"
        "Failed to flush changes into DuckLake: database is locked\n"
    )
    assert processes.lock_errors(handled) == []
    assert len(processes.lock_errors(handled + surfaced)) == 2

"""kill -9 in the middle of an ingestion run (and of a dbt build), then a normal re-run.

The promise under test: a file is in its raw table completely, with its ledger row, or not at all,
whenever the process dies; the next run loads exactly what is missing; the end state equals that
of a run that was never interrupted.
"""

from __future__ import annotations

import sys
import time

import pytest

from tests.faults import invariants, processes
from tests.faults.temp_platform import TempPlatform, copy_landing

# Where the kill lands: a fraction of the time an uninterrupted run (same session) took from its
# start to its last commit, i.e. somewhere in fingerprinting, staging or a commit; or the instant
# after the Nth table's transaction committed (while the next table is staged).
KILL_POINTS = ["time:0.3", "time:0.75", "commit:1", "commit:6"]
# Columns whose values depend on when things ran, not on the data: dbt's snapshot bookkeeping.
TIME_DEPENDENT = (r"^dbt_",)


@pytest.fixture(scope="module")
def clean_run(sample_landing, tmp_path_factory):
    """An uninterrupted ingestion of the sample: the reference end state and its duration."""
    platform = TempPlatform(tmp_path_factory.mktemp("clean"))
    copy_landing(sample_landing, platform.landing)
    proc = platform.spawn(platform.ingest_cmd(), log_name="clean")
    processes.wait_for_line(proc, "STARTED", timeout=60)
    started, last_commit, commits = time.monotonic(), 0.0, 0
    while proc.poll() is None:  # when did the last commit happen?
        seen = processes.output_of(proc).count("committed ")
        if seen > commits:
            commits, last_commit = seen, time.monotonic() - started
        time.sleep(0.01)
    code, out = processes.finish(proc, 120)
    assert code == 0, out[-4000:]
    assert invariants.exactly_once_violations(platform) == []
    return {
        "seconds": last_commit,
        "fingerprints": invariants.table_fingerprints(platform),
        "ledger": invariants.ledger_files(platform),
        "commits": out.count("committed "),
    }


@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_during_ingestion_then_rerun_equals_a_clean_run(point, clean_run, sample_landing, temp_platform):
    landed = copy_landing(sample_landing, temp_platform.landing)
    proc = temp_platform.spawn(temp_platform.ingest_cmd(), log_name="killed")
    processes.wait_for_line(proc, "STARTED", timeout=60)
    kind, value = point.split(":")
    if kind == "time":
        time.sleep(clean_run["seconds"] * float(value))
    else:
        assert int(value) < clean_run["commits"], "the sample has fewer commits than this kill point"
        processes.wait_for_line(proc, "committed ", timeout=60, count=int(value))
    still_running = proc.poll() is None
    processes.kill_group(proc)
    killed_output = processes.output_of(proc)
    assert still_running, f"the run finished before the kill at {point}: nothing was tested\n{killed_output[-2000:]}"

    # Right after the crash: whatever is committed is whole (no file half in, no row without ledger).
    if temp_platform.settings.catalog_path.exists():
        try:
            assert invariants.exactly_once_violations(temp_platform) == []
            partial = sum(n for n, _ in invariants.table_fingerprints(temp_platform).values())
        except Exception as error:  # the kill may land before the first table exists
            if "does not exist" not in str(error):
                raise
            partial = 0
    else:
        partial = 0

    # The next run: in this process (the same materialization a new run worker does, without
    # its interpreter start-up); nothing of the killed one survives but what it committed.
    code, out = temp_platform.ingest_here()
    assert code == 0, f"re-run after kill at {point} failed:\n{out[-4000:]}"
    assert invariants.exactly_once_violations(temp_platform) == []
    assert all(invariants.reconciliation_results(temp_platform).values()), invariants.reconciliation_results(temp_platform)
    assert invariants.table_fingerprints(temp_platform) == clean_run["fingerprints"], f"kill at {point}: end state differs from a clean run"
    assert invariants.ledger_files(temp_platform) == clean_run["ledger"]
    assert invariants.quarantined(temp_platform) == {}
    assert all((temp_platform.landing / rel).exists() for rel in landed), "a loaded file must stay in landing"
    total = sum(n for n, _ in clean_run["fingerprints"].values())
    print(f"kill at {point}: {partial:,} of {total:,} rows were committed before the kill; re-run completed the rest")


def test_kill_during_dbt_build_then_rerun_equals_a_full_refresh(built_platform, tmp_path):
    """The Dagster run of the dbt assets (run worker + its `dbt build` child) killed with -9 as dbt
    starts the first incremental model (a merge into an existing table: the riskiest moment), then
    re-run. Every relation then equals what the build before the kill made from the same raw
    data, and no temp/backup relation is left behind. (Each Dagster+dbt run costs ~20 s here,
    hence one kill point, no extra full-refresh build, and the build before the kill is the
    session's shared one, `built_platform`.)"""
    platform = built_platform.clone(tmp_path / "platform")
    runs = platform.state / "dbt" / "runs"
    cmd = [sys.executable, "-m", "tests.faults.driver", "dbt", "--state", str(platform.state)]

    def build(*extra: str, kill_at: str | None = None) -> None:
        known = set(runs.iterdir()) if runs.exists() else set()
        proc = platform.spawn(cmd + list(extra), log_name="dbt")
        if kill_at is None:
            code, out = processes.finish(proc, 400)
            assert code == 0, f"Dagster dbt run {extra} failed:\n{out[-5000:]}"
            assert processes.lock_errors(out) == []
            return
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:  # dbt's own log, in its run folder
            logs = [d / "dbt.log" for d in (set(runs.iterdir()) - known if runs.exists() else [])]
            if any(log.exists() and kill_at in log.read_text(errors="replace") for log in logs):
                break
            time.sleep(0.02)
        time.sleep(0.05)  # into the statement, not before it
        still_running = proc.poll() is None
        processes.kill_group(proc)
        assert still_running, f"the dbt run ended before {kill_at!r} was seen:\n{processes.output_of(proc)[-3000:]}"
        assert processes.surviving_processes(platform) == [], "dbt outlived the killed run worker"

    # Incremental models exist: the next build merges into them.
    relations = invariants.mart_tables(platform)
    before = invariants.relation_fingerprints(platform, relations, exclude=TIME_DEPENDENT)
    build(kill_at="START sql incremental model")
    build()
    leftovers = platform.query(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND (table_name LIKE '%__dbt_tmp%' OR table_name LIKE '%__dbt_backup%')")
    assert leftovers == [], f"temp/backup relations left behind by the killed builds: {leftovers}"
    assert invariants.mart_tables(platform) == relations
    recovered = invariants.relation_fingerprints(platform, relations, exclude=TIME_DEPENDENT)
    differ = {r: (before[r], recovered[r]) for r in relations if recovered[r] != before[r]}
    assert not differ, f"after a kill and a re-run, these relations differ from the build before (rows, checksum): {differ}"

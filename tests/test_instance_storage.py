"""The project's dagster.yaml: Dagster's default SQLite layout, connections that don't wait for the disk."""

import os
import shutil
import sqlite3
import subprocess
import sys
import time

import dagster as dg
import pytest
from dagster._core.storage.runs.sqlite import SqliteRunStorage
from sqlalchemy import event
from sqlalchemy.pool import Pool

from analytics_platform.instance_storage import LocalSqliteStorage
from analytics_platform.settings import PROJECT_ROOT


@pytest.fixture
def instance(tmp_path, monkeypatch):
    monkeypatch.delenv("ANALYTICS_DAGSTER_URL", raising=False)
    shutil.copy(PROJECT_ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        yield instance


def test_runs_and_events_land_in_the_default_layout_with_synchronous_off(instance, tmp_path):
    assert instance.get_ref().storage_data.class_name == "PlatformStorage"
    assert isinstance(instance.run_storage, SqliteRunStorage)  # ANALYTICS_DAGSTER_URL unset: the embedded default

    @dg.asset
    def one() -> int:
        return 1

    result = dg.materialize([one], instance=instance)
    assert result.success
    assert instance.get_run_by_id(result.run_id).is_success
    assert instance.get_latest_materialization_event(dg.AssetKey("one")) is not None
    # the files Dagster's default storage would write, where it would write them
    for db in ("history/runs.db", "history/runs/index.db", f"history/runs/{result.run_id}.db", "schedules/schedules.db"):
        assert (tmp_path / db).exists(), db
    # a connection opened through the instance's engine has the configured level (0 = OFF) ...
    with instance.event_log_storage.index_connection() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 0
    # ... and other SQLite databases keep SQLite's default (2 = FULL)
    other = sqlite3.connect(tmp_path / "other.db")
    assert other.execute("PRAGMA synchronous").fetchone()[0] == 2


def test_unknown_level_is_refused(tmp_path):
    with pytest.raises(ValueError, match="synchronous must be one of"):
        LocalSqliteStorage(str(tmp_path), synchronous="SOMETIMES")


def _engine_event_run(instance):
    @dg.op
    def noop() -> None:
        pass

    @dg.job
    def events() -> None:
        noop()

    return instance.create_run_for_job(events)


def test_the_event_log_keeps_its_connections_between_events(instance):
    """Dagster opens a connection per event (two or three for an asset check event): 7-9 ms an
    event on this machine against 2.5-3 ms with the connections kept (ReusingSqliteEventLogStorage)."""
    run = _engine_event_run(instance)
    opened = []

    def count(dbapi_connection, _record):
        opened.append(dbapi_connection)

    event.listen(Pool, "connect", count)
    try:
        for i in range(50):
            instance.report_engine_event(f"event {i}", run)
    finally:
        event.remove(Pool, "connect", count)
    assert len(opened) <= 2, f"{len(opened)} connections opened for 50 events"  # Dagster alone: one an event
    assert sum(1 for e in instance.all_logs(run.run_id) if e.message.startswith("event ")) == 50


WRITE = """
import sys, dagster as dg
with dg.DagsterInstance.get() as instance:
    run = instance.get_run_by_id(sys.argv[1])
    for i in range(5):
        instance.report_engine_event(f"from another process {i}", run)
"""


def test_other_processes_and_the_live_log_watcher_see_each_event(instance, tmp_path):
    """Kept connections hide nothing: events written by another process (a run worker) reach this
    process's open connection, and the watcher the UI's live run logs use (it reacts to the run
    database's file, hence the checkpoint after each write) reports them."""
    run = _engine_event_run(instance)
    instance.report_engine_event("from this process", run)  # this process now holds the run's connection
    seen = []

    def callback(entry, _cursor) -> None:
        seen.append(entry.message)

    instance.watch_event_logs(run.run_id, None, callback)
    try:
        env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
        subprocess.run([sys.executable, "-c", WRITE, run.run_id], check=True, env=env, cwd=PROJECT_ROOT)
        messages = [e.message for e in instance.all_logs(run.run_id)]
        assert [m for m in messages if m.startswith("from another process")] == [f"from another process {i}" for i in range(5)]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(m.startswith("from another process 4") for m in seen):
            time.sleep(0.2)
        assert "from another process 4" in seen, f"the watcher saw {seen}"
    finally:
        instance.end_watch_event_logs(run.run_id, callback)
    instance.wipe()  # deletes the run databases under the kept connections
    run = _engine_event_run(instance)
    instance.report_engine_event("after wipe", run)
    assert [e.message for e in instance.all_logs(run.run_id) if e.message == "after wipe"] == ["after wipe"]

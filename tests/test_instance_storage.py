"""The project's dagster.yaml: Dagster's default SQLite layout, connections that don't wait for the disk."""

import shutil
import sqlite3

import dagster as dg
import pytest
from dagster._core.storage.runs.sqlite import SqliteRunStorage

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

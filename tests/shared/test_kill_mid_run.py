"""Faults halfway through `python -m analytics_platform materialize`'s commits to the shared
warehouse (kill -9 of it and its dbt; PostgreSQL restarted under it), then the same command again:
the marts are those of an uninterrupted run on another DuckLake from the same files, row for row (a checksum over every column that does not
record when it was loaded). Each run has its own persistent DAGSTER_HOME with the project's
dagster.yaml, as a user's would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from analytics_platform import warehouse
from analytics_platform.sample_data import generate, write_landing
from analytics_platform.settings import PROJECT_ROOT, load_settings


def materialize(env: dict[str, str], folder: Path, landing: Path) -> subprocess.Popen:
    own = {"DAGSTER_HOME": str(folder / "dagster_home"), "ANALYTICS_STATE_DIR": str(folder / "state"), "ANALYTICS_LANDING_DIR": str(landing)}
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ANALYTICS_", "DAGSTER_"))}
    return subprocess.Popen([sys.executable, "-m", "analytics_platform", "materialize", "--no-sample-data"], cwd=PROJECT_ROOT,
                            env={**clean, **env, **own}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def snapshots(servers, env: dict[str, str]) -> int:
    database = env["ANALYTICS_CATALOG_URL"].rsplit("/", 1)[1]
    if not servers.postgres.psql("SELECT to_regclass('ducklake_snapshot')", database).strip():
        return 0  # the first attach has not created the catalog yet
    return int(servers.postgres.psql("SELECT count(*) FROM ducklake_snapshot", database).strip())


def mart_checksums(env: dict[str, str], monkeypatch) -> dict[str, tuple[int, int]]:
    with monkeypatch.context() as lake:
        for key, value in env.items():
            lake.setenv(key, value)
        settings = load_settings()
        con = duckdb.connect(config={"extension_directory": warehouse.extension_directory()})
        warehouse.prepare(con, settings)
        warehouse.attach(con, settings, read_only=True)
        tables = con.execute("SELECT table_name FROM information_schema.tables WHERE table_catalog = 'lake' AND table_schema = 'marts' "
                             "AND table_type = 'BASE TABLE' ORDER BY 1").fetchall()
        sums = {}
        for (table,) in tables:
            columns = [c for (c,) in con.execute("SELECT column_name FROM information_schema.columns WHERE table_catalog = 'lake' "
                                                 "AND table_schema = 'marts' AND table_name = ? ORDER BY ordinal_position", [table]).fetchall()
                       if not c.startswith("_")]  # _loaded_at: when, not what
            row = ", ".join(warehouse.quote_ident(c) for c in columns)
            sums[table] = con.execute(f"SELECT count(*), coalesce(sum(hash({row})::HUGEINT), 0) FROM lake.marts.{warehouse.quote_ident(table)}").fetchone()
        con.close()
    return sums


@pytest.fixture(scope="module")
def reference(servers, tmp_path_factory):
    """Landed files and the marts (checksums) and catalog snapshots of one uninterrupted run."""
    folder = tmp_path_factory.mktemp("reference")
    write_landing(generate(seed=5, scale=0.02, days=4), folder / "landing")
    env = servers.lake_env("fault_reference")
    run = materialize(env, folder, folder / "landing")
    output = run.communicate(timeout=600)[0]
    assert run.returncode == 0, output[-3000:]
    with pytest.MonkeyPatch.context() as monkeypatch:
        expected = mart_checksums(env, monkeypatch)
    assert len(expected) >= 5 and all(n > 0 for n, _ in expected.values()), expected
    return folder / "landing", expected, snapshots(servers, env)


def start_and_wait_for_half(servers, env: dict[str, str], folder: Path, landing: Path, total: int) -> subprocess.Popen:
    run = materialize(env, folder, landing)
    while snapshots(servers, env) < total // 2 and run.poll() is None:
        time.sleep(0.05)
    assert run.poll() is None, "the run ended before the fault"
    return run


def rerun_gives(env: dict[str, str], folder: Path, landing: Path, expected, monkeypatch) -> str:
    rerun = materialize(env, folder, landing)
    output = rerun.communicate(timeout=600)[0]
    assert rerun.returncode == 0, output[-3000:]
    assert mart_checksums(env, monkeypatch) == expected
    return output


def test_kill_9_mid_run_then_rerun_gives_the_uninterrupted_marts(servers, reference, tmp_path, monkeypatch):
    landing, expected, total = reference
    env = servers.lake_env("fault_killed")
    interrupted = start_and_wait_for_half(servers, env, tmp_path, landing, total)
    os.killpg(interrupted.pid, signal.SIGKILL)  # materialize and its dbt, mid-run
    interrupted.wait(30)
    assert mart_checksums(env, monkeypatch) != expected  # it really stopped halfway
    output = rerun_gives(env, tmp_path, landing, expected, monkeypatch)
    assert "recovered run" in output  # the killed run, closed by the rerun


def test_postgres_restarted_mid_run_then_rerun_gives_the_uninterrupted_marts(servers, reference, tmp_path, monkeypatch):
    landing, expected, total = reference
    env = servers.lake_env("fault_restarted")
    run = start_and_wait_for_half(servers, env, tmp_path, landing, total)
    servers.postgres.restart()
    output = run.communicate(timeout=600)[0]
    # DuckDB's postgres connection does not come back: the run fails, saying so (but not which server)
    assert run.returncode == 1 and "no connection to the server" in output, output[-3000:]
    rerun_gives(env, tmp_path, landing, expected, monkeypatch)

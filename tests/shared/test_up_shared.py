"""`python3 -m analytics_platform up --shared`, the demo command, end to end on real servers.

The command starts PostgreSQL + SeaweedFS, lands sample data and runs `dagster dev`; the landing
sensor, dbt and automation do the rest, as for a user. Checked from outside, on the servers: the
runs and their event log are rows in PostgreSQL (no SQLite instance on disk), the marts in the
PostgreSQL-catalog DuckLake reconcile with the landed order files (revenue per day recomputed here
from the Parquet files), the churn model's MLflow version is in PostgreSQL with its artifacts in
the bucket, and SIGTERM stops everything with no credential in the output.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pytest

from analytics_platform import warehouse
from analytics_platform.settings import PROJECT_ROOT, load_settings
from analytics_platform.shared.postgres import bin_dir
from analytics_platform.shared.processes import free_port

# 120 days: the churn model needs 90 of history; scale 0.05 keeps the whole flow near 2 minutes.
SCALE, DAYS = 0.05, 120
LANDING_RUN_SECONDS, MODEL_SECONDS, STOP_SECONDS = 600, 300, 90  # timeouts, not timings: a loaded 2-core box is slow


def read_env_file(path: Path) -> dict[str, str]:
    """The ``KEY='value'`` lines `up --shared` writes (servers.announce)."""
    return {key: value.strip("'") for key, value in (line.split("=", 1) for line in path.read_text().splitlines() if line)}


def psql(env: dict[str, str], database: str, sql: str) -> list[list[str]]:
    url = env["ANALYTICS_CATALOG_URL"].removeprefix("postgresql://")
    user, rest = url.split("@", 1)
    host, port = rest.split("/", 1)[0].split(":")
    result = subprocess.run([str(bin_dir() / "psql"), "-h", host, "-p", port, "-U", user, "-d", database, "-w", "-X", "-A", "-t",
                             "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                            capture_output=True, text=True, env={**os.environ, "PGPASSWORD": env["PGPASSWORD"]}, timeout=30, check=True)
    return [line.split("\t") for line in result.stdout.splitlines() if line]


def wait_for(what: str, condition, timeout: float, process: subprocess.Popen, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"`up --shared` exited ({process.returncode}) before {what}:\n{log.read_text()[-3000:]}"
        value = condition()
        if value:
            return value
        time.sleep(2)
    pytest.fail(f"no {what} after {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def landed_revenue(landing: Path) -> dict[dt.date, float]:
    """Revenue per UTC day from the landed order files: each order in its latest state, cancelled ones out."""
    rows = duckdb.sql(f"""
        SELECT CAST(ordered_at AS DATE) AS day, sum(order_total)::DOUBLE
        FROM (SELECT * FROM read_parquet('{landing}/shop/orders/*.parquet')
              QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY updated_at DESC) = 1)
        WHERE status <> 'cancelled' GROUP BY 1""").fetchall()
    return {day: round(total, 2) for day, total in rows}


@pytest.fixture
def up_shared(tmp_path: Path):
    # As root PostgreSQL runs as the `postgres` user, who must reach the state folder: pytest's own
    # temp folders are private (0700), a folder of the system temp folder is not.
    root = Path(tempfile.mkdtemp(prefix="analytics-up-shared-"))
    root.chmod(0o755)
    state, landing, log = root / "state", root / "landing", tmp_path / "up.log"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANALYTICS_", "DAGSTER_", "AWS_", "MLFLOW_")) and k != "PGPASSWORD"}
    env.update(ANALYTICS_STATE_DIR=str(state), ANALYTICS_LANDING_DIR=str(landing), PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])))
    command = [sys.executable, "-m", "analytics_platform.cli", "up", "--shared", "--scale", str(SCALE), "--days", str(DAYS),
               "--port", str(free_port())]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process, state, landing, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(root, ignore_errors=True)


def test_up_shared_keeps_runs_marts_and_models_on_the_servers(up_shared, monkeypatch: pytest.MonkeyPatch):
    process, state, landing, log = up_shared
    env_file = state / "shared" / "shared.env"
    wait_for("environment file", env_file.exists, 120, process, log)
    assert env_file.stat().st_mode & 0o777 == 0o600
    env = read_env_file(env_file)
    dagster_db, mlflow_db = env["ANALYTICS_DAGSTER_URL"].rsplit("/", 1)[1], env["ANALYTICS_MLFLOW_URL"].rsplit("/", 1)[1]

    # the landing run (ingestion + the dbt models above it), as recorded in PostgreSQL
    def landing_run() -> list[str] | None:
        try:
            rows = psql(env, dagster_db, "SELECT run_id, status FROM runs WHERE pipeline_name LIKE '%landing_sensor%' ORDER BY create_timestamp")
        except subprocess.CalledProcessError:  # the tables are created when dagster dev first starts
            return None
        assert not any(status in ("FAILURE", "CANCELED") for _, status in rows), rows
        return next((row for row in rows if row[1] == "SUCCESS"), None)

    run_id, _ = wait_for("successful landing run", landing_run, LANDING_RUN_SECONDS, process, log)
    events = dict(psql(env, dagster_db, f"SELECT dagster_event_type, count(*) FROM event_logs WHERE run_id = '{run_id}' GROUP BY 1"))
    assert events["PIPELINE_SUCCESS"] == "1" and int(events["ASSET_MATERIALIZATION"]) > 10, events
    materialized = {row[0] for row in psql(env, dagster_db, f"SELECT asset_key FROM event_logs WHERE run_id = '{run_id}' "
                                                            "AND dagster_event_type = 'ASSET_MATERIALIZATION'")}
    assert any("fct_daily_revenue" in key for key in materialized) and any("orders" in key and "raw" in key for key in materialized)
    # ingestion's pool holds a slot per source (set by `up`): later batches' runs, one per source, load side by side
    assert psql(env, dagster_db, "SELECT \"limit\" FROM concurrency_limits WHERE concurrency_key = 'warehouse_ingest'") == [["4"]]
    # recovery can tell this machine's runs in the shared instance (the warehouse resource tags them)
    assert psql(env, dagster_db, f"SELECT value FROM run_tags WHERE run_id = '{run_id}' AND key = 'analytics/host'") == [[socket.gethostname()]]
    home = state / "dagster-shared"
    assert (home / "dagster.yaml").exists() and not (home / "history").exists()  # no SQLite run storage
    assert not (state / "warehouse").exists()  # no embedded catalog or Parquet folder either

    # the marts in the PostgreSQL-catalog DuckLake reconcile with the landed files
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with warehouse.session(load_settings(), read_only=True) as con:
        marts = {day: round(total, 2) for day, total in
                 con.execute("SELECT date_day, sum(revenue)::DOUBLE FROM marts.fct_daily_revenue GROUP BY 1 HAVING sum(orders) > 0").fetchall()}
    expected = landed_revenue(landing)
    assert len(expected) >= DAYS - 1 and marts == pytest.approx(expected, abs=0.05)

    # the churn model: version in PostgreSQL, artifacts in the bucket
    versions = wait_for("registered churn model", lambda: _model_versions(env, mlflow_db), MODEL_SECONDS, process, log)
    name, version, run = versions[0]
    assert (name, version) == ("churn_model", "1")
    artifacts = psql(env, mlflow_db, f"SELECT artifact_uri FROM runs WHERE run_uuid = '{run}'")[0][0]
    files_url = load_settings().shared.files_url
    assert artifacts.startswith(f"{files_url}mlflow/")
    from analytics_platform import object_store

    bucket, prefix = object_store.split(artifacts)
    listed = object_store.client(load_settings().shared).list_objects_v2(Bucket=bucket, Prefix=prefix)
    assert {"feature_reference.json", "roc_curve.png"} <= {item["Key"].rsplit("/", 1)[1] for item in listed.get("Contents", [])}

    # SIGTERM: runs canceled, dagster dev and both servers stopped; no secret in the output
    os.killpg(process.pid, signal.SIGTERM)
    assert process.wait(STOP_SECONDS) == 0
    with pytest.raises(subprocess.CalledProcessError):
        psql(env, dagster_db, "SELECT 1")
    text = log.read_text(errors="replace")
    for secret in (env["PGPASSWORD"], env["AWS_SECRET_ACCESS_KEY"]):
        assert secret not in text


def _model_versions(env: dict[str, str], database: str) -> list[list[str]] | None:
    try:
        return psql(env, database, "SELECT name, version, run_id FROM model_versions ORDER BY version") or None
    except subprocess.CalledProcessError:  # MLflow creates its tables on first use
        return None

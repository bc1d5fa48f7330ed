"""Two workers that share nothing but PostgreSQL and the object store, over TCP: each has its own
copy of the project (no .git, .state or landing), its own DAGSTER_HOME with the project's
dagster.yaml (the instance itself is in PostgreSQL), state and temp folders. At the same moment each runs what its landing sensor
requests for its own sources (shop on one, web + marketing + experiments on the other): ingestion
and the dbt models above, on a warehouse the first worker built the day before from every source.
Ingestion runs side by side; the two dbt builds take turns through the catalog's advisory lock
(warehouse_lock.acquire_for_dbt). What both requests hold (seeds, marts joining both sides) is
built after them by the first worker alone: two runs must not build one table at once
(docs/architecture.md). The marts reconcile with what was landed, and each worker's ledger rows
carry its own run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

from analytics_platform import warehouse
from analytics_platform.definitions import defs
from analytics_platform.defs.ingestion.sensors import landing_sensor
from analytics_platform.resources import WarehouseResource
from analytics_platform.sample_data import generate, write_landing
from analytics_platform.sample_data.schema import SPECS
from analytics_platform.settings import PROJECT_ROOT, load_settings

NOT_COPIED = shutil.ignore_patterns(".git", ".state", "landing", ".venv", "__pycache__", "logs", "test-artifacts", "results",
                                    "partial_parse.msgpack", "run_results.json", "*.egg-info")
SOURCES = {"a": ("shop",), "b": ("web", "marketing", "experiments")}

WORKER = """
import json, os, pathlib, sys, time
import dagster as dg
from analytics_platform.definitions import defs
from analytics_platform.defs.ingestion.sensors import landing_sensor
from analytics_platform.resources import WarehouseResource

plan, start = json.loads(sys.argv[1]), float(sys.argv[2])
instance = dg.DagsterInstance.get()  # $DAGSTER_HOME, the project's dagster.yaml
home = pathlib.Path(os.environ["DAGSTER_HOME"])
if "only" in plan:
    selection, run_config, tags = [dg.AssetKey.from_user_string(k) for k in plan["only"]], {}, {}
else:
    cursor = home / "landing_sensor.cursor"  # kept as the daemon keeps it
    with dg.build_sensor_context(instance=instance, cursor=cursor.read_text() if cursor.exists() else None,
                                 resources={"warehouse": WarehouseResource()}, definitions=defs) as context:
        tick = landing_sensor(context)
    cursor.write_text(tick.cursor)
    # one run for what the sensor requested (the daemon launches a request per source, once every
    # source was loaded: worker b's three sources would be three runs; here they are one)
    requests = tick.run_requests
    keys = {k for r in requests for k in r.asset_selection}
    selection = sorted((k for k in keys if k.to_user_string() not in plan["skip"]), key=lambda k: k.to_user_string())
    files = sorted(f for r in requests for f in r.run_config["ops"]["raw_tables"]["config"]["files"])
    run_config = {"ops": {"raw_tables": {"config": {"files": files, "settle_seconds": 0.0}}}}
    tags = {"analytics/ingestion": "+".join(sorted(r.tags["analytics/ingestion"] for r in requests))}
job = defs.resolve_implicit_global_asset_job_def()
time.sleep(max(0.0, start - time.time()))
began = time.time()
result = job.execute_in_process(instance=instance, asset_selection=selection, run_config=run_config, tags=tags, raise_on_error=False)
built = sorted({e.asset_key.to_user_string() for e in result.get_asset_materialization_events()})
print(json.dumps({"run_id": result.run_id, "success": result.success, "began": began, "ended": time.time(), "built": built,
                  "selected": sorted(k.to_user_string() for k in selection)}))
"""


def worker_folder(base: Path) -> Path:
    """A working copy of the project with its own landing folder, state and DAGSTER_HOME."""
    copy = base / "project"
    shutil.copytree(PROJECT_ROOT, copy, ignore=NOT_COPIED)
    (base / "dagster_home").mkdir()
    shutil.copy(copy / "dagster.yaml", base / "dagster_home" / "dagster.yaml")
    (base / "tmp").mkdir()
    return copy


def deliver(producer: Path, landing: Path, sources: tuple[str, ...], days: set[str]) -> None:
    """The producer's files of ``sources`` and ``days`` into ``landing``, delivered a minute ago."""
    for path in producer.rglob("*.*"):
        relative = path.relative_to(producer)
        if relative.parts[0] in sources and path.stem.rsplit("_", 1)[-1] in days:
            (landing / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, landing / relative)
            os.utime(landing / relative, (time.time() - 60, time.time() - 60))


def start_worker(base: Path, env: dict[str, str], plan: dict, start: float) -> subprocess.Popen:
    copy = base / "project"
    own = {"PYTHONPATH": str(copy), "DAGSTER_HOME": str(base / "dagster_home"), "TMPDIR": str(base / "tmp"),
           "ANALYTICS_STATE_DIR": str(copy / ".state"), "ANALYTICS_LANDING_DIR": str(copy / "landing")}
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ANALYTICS_", "DAGSTER_", "PYTHONPATH"))}
    return subprocess.Popen([sys.executable, "-c", WORKER, json.dumps(plan), str(start)], cwd=copy, env={**clean, **env, **own},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    outcome = json.loads(out.strip().splitlines()[-1])
    assert outcome["success"], err[-3000:]
    return outcome


def requested(landing: Path) -> set[str]:
    """What the landing sensor requests for ``landing`` on a fresh instance (as each worker's will)."""
    with dg.instance_for_test() as instance, dg.build_sensor_context(
        instance=instance, resources={"warehouse": WarehouseResource(landing_dir=str(landing))}, definitions=defs
    ) as context:
        (request,) = landing_sensor(context).run_requests
    return {k.to_user_string() for k in request.asset_selection}


def test_two_workers_share_only_the_servers(servers, shared_env, tmp_path, monkeypatch):
    data = generate(seed=11, scale=0.02, days=4)
    producer = tmp_path / "producer"
    write_landing(data, producer)
    days = sorted({p.stem.rsplit("_", 1)[-1] for p in producer.rglob("*.csv")})
    copies = {name: worker_folder(tmp_path / name) for name in SOURCES}
    # Yesterday: the first worker loaded every source and built everything (the warehouse exists).
    everything = tuple(s for sources in SOURCES.values() for s in sources)
    deliver(producer, copies["a"] / "landing", everything, set(days[:2]))
    setup = finish(start_worker(tmp_path / "a", shared_env, {"skip": []}, 0))
    # Today: each worker gets its own sources' new files.
    for name, sources in SOURCES.items():
        deliver(producer, copies[name] / "landing", sources, set(days[2:]))
        deliver(producer, tmp_path / "today" / name, sources, set(days[2:]))
    both = requested(tmp_path / "today" / "a") & requested(tmp_path / "today" / "b")
    assert both and not any(k.startswith("raw/") for k in both)

    start = time.time() + 15  # after both workers' imports and sensor evaluations
    plans = {name: {"skip": sorted(both)} for name in SOURCES}
    workers = {name: start_worker(tmp_path / name, shared_env, plans[name], start) for name in SOURCES}
    runs = {name: finish(process) for name, process in workers.items()}
    assert runs["a"]["began"] < runs["b"]["ended"] and runs["b"]["began"] < runs["a"]["ended"]  # side by side
    for name in SOURCES:  # each worker built its own models: both dbt builds succeeded, one after the other
        assert set(runs[name]["built"]) == set(runs[name]["selected"]), name
        assert any(not k.startswith("raw/") for k in runs[name]["built"]), name
    joined = finish(start_worker(tmp_path / "a", shared_env, {"only": sorted(both)}, 0))  # the models joining both sides

    with warehouse.session(load_settings(), read_only=True) as con:
        for key, frame in data.tables.items():
            spec = SPECS[key]
            table = warehouse.quote_ident(f"{spec.source}__{spec.table}")
            assert con.execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0] == frame.height, key
        by_run = {run: sorted(sources) for run, sources in con.execute(
            "SELECT run_id, list(DISTINCT split_part(source_file, '/', 1)) FROM meta.ingest_ledger GROUP BY 1").fetchall()}
        assert by_run == {setup["run_id"]: sorted(everything), runs["a"]["run_id"]: list(SOURCES["a"]), runs["b"]["run_id"]: sorted(SOURCES["b"])}
        scalar = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        assert scalar("SELECT count(*) FROM marts.fct_orders") == scalar("SELECT count(DISTINCT order_id) FROM raw.shop__orders") > 0
        assert scalar("SELECT count(*) FROM marts.fct_sessions") == scalar("SELECT count(DISTINCT session_id) FROM raw.web__sessions") > 0
        assert scalar("SELECT count(*) FROM marts.dim_customers") == scalar("SELECT count(DISTINCT customer_id) FROM raw.shop__customers") > 0
        assert scalar("SELECT sum(ad_spend) FROM marts.fct_daily_revenue") == scalar("SELECT sum(spend) FROM raw.marketing__ad_spend") > 0
    assert joined["run_id"] not in (runs["a"]["run_id"], runs["b"]["run_id"])
    for name in SOURCES:  # the warehouse and Dagster's instance live on the servers only
        assert not list((copies[name] / ".state").rglob("catalog.sqlite"))
        assert not list((copies[name] / ".state").rglob("*.parquet"))
        assert not list((tmp_path / name / "dagster_home").rglob("*.db"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "a" / "dagster_home"))
    with dg.DagsterInstance.get() as instance:  # one instance in PostgreSQL: each machine sees both runs
        assert all(instance.has_run(run["run_id"]) for run in (*runs.values(), setup, joined))

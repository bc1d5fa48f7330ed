"""One measured step, in its own process: ``python -m bench.worker TASK '{json args}'``.

Prints ``RESULT {json}`` as its last line. Tasks:

    ingest        landing files → raw tables through the platform (``dg.materialize([raw_tables])``),
                  with a per-phase breakdown of the step (wall time spent in each loader function)
    ingest_floor  the same files into a native DuckDB file with one CREATE TABLE AS per table
    build         ``run_everything`` (every asset once) on a Dagster instance in DAGSTER_HOME; step
                  durations from the event log, per-dbt-node times from dbt's run_results.json
    build_floor   the compiled SQL of that dbt run, in its order, in one DuckDB connection, on a
                  native copy of the raw tables
"""

from __future__ import annotations

import collections
import functools
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

PHASES: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0])


def _timed(name: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            PHASES[name][0] += time.perf_counter() - started
            PHASES[name][1] += 1

    return wrapper


def _wrap(module, attribute: str, phase: str) -> None:
    if hasattr(module, attribute):  # the loader evolves: time what exists
        setattr(module, attribute, _timed(phase, getattr(module, attribute)))


def _instrument_ingestion() -> None:
    """Wrap the loader's stages with timers (measurement only: behaviour is unchanged)."""
    from analytics_platform import warehouse
    from analytics_platform.defs.ingestion import assets, batch, ledger, loader, readers

    _wrap(loader, "fingerprint", "fingerprint (hash + count lines)")
    _wrap(loader, "stage_batch", "stage: batched read + validate")
    _wrap(loader, "stage_file", "stage: per-file read + validate")
    _wrap(loader, "_stage", "stage: per-file read + validate")
    _wrap(loader, "_expected_rows", "stage: per-file record count")
    for module in (readers, batch.readers):
        _wrap(module, "_finish", "  of which: validate (cast probes)")
        _wrap(module, "_csv_dialect", "  of which: sniff dialect")
    _wrap(loader, "transaction", "commit: insert + ledger (transaction)")
    _wrap(loader, "quarantine_file", "quarantine")
    _wrap(ledger, "ensure_schema", "ensure schema (DDL)")
    for name in ("known_stats", "loaded_hashes", "current_versions"):
        _wrap(ledger, name, "ledger reads")
    _wrap(assets, "scan_landing", "scan landing folder")
    _wrap(warehouse, "connect", "connect + attach DuckLake")


def _checks_generator_time() -> None:
    """run_table_checks is a generator: time is spent when it is iterated, so wrap iteration."""
    from analytics_platform.defs.ingestion import assets

    inner = assets.run_table_checks

    def iterate(*args, **kwargs):
        started = time.perf_counter()
        yield from inner(*args, **kwargs)
        PHASES["table checks (reconciliation, pk, not-null)"][0] += time.perf_counter() - started

    assets.run_table_checks = iterate


def task_ingest(args: dict) -> dict:
    import dagster as dg

    if args.get("instrument", True):
        _instrument_ingestion()
        _checks_generator_time()
    from analytics_platform.defs.ingestion.assets import raw_tables
    from analytics_platform.resources import WarehouseResource

    warehouse = WarehouseResource(state_dir=args["state"], landing_dir=args["landing"])
    started = time.perf_counter()
    result = dg.materialize(
        [raw_tables], resources={"warehouse": warehouse},
        run_config={"ops": {"raw_tables": {"config": {"settle_seconds": 0.0}}}}, raise_on_error=False,
    )
    seconds = time.perf_counter() - started
    step = _step_seconds(result)
    with warehouse.connect(read_only=True) as con:
        rows, files = con.execute("SELECT coalesce(sum(rows_in_file), 0)::BIGINT, count(*) FROM meta.ingest_ledger WHERE status = 'loaded'").fetchone()
        quarantined = con.execute("SELECT count(*) FROM meta.quarantine").fetchone()[0]
        per_table = dict(con.execute("SELECT target_table, sum(rows_in_file)::BIGINT FROM meta.ingest_ledger WHERE status = 'loaded' GROUP BY ALL").fetchall())
    phases = {k: round(v[0], 3) for k, v in sorted(PHASES.items(), key=lambda kv: -kv[1][0])}
    calls = {k: v[1] for k, v in PHASES.items()}
    return {
        "ok": result.success, "seconds": seconds, "step_seconds": step.get("raw_tables"), "rows": rows, "files": files,
        "quarantined": quarantined, "rows_per_table": per_table, "phases": phases, "phase_calls": calls,
    }


def _step_seconds(result) -> dict[str, float]:
    """STEP_SUCCESS / STEP_FAILURE durations of an in-process run, from its events."""
    out = {}
    for e in result.all_events:
        if e.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and e.event_specific_data is not None:
            duration = getattr(e.event_specific_data, "duration_ms", None)
            if duration is not None:
                out[e.step_key] = round(duration / 1000, 3)
    return out


FORMATS = {"csv": "read_csv({files})", "parquet": "read_parquet({files})", "ndjson": "read_json({files}, format='newline_delimited')"}


def task_ingest_floor(args: dict) -> dict:
    """The floor: DuckDB reading the same files straight into a native table, one statement each."""
    import fnmatch

    import duckdb

    from analytics_platform.defs.ingestion.contracts import load_contracts

    landing, db = Path(args["landing"]), Path(args["db"])
    tuned = bool(args.get("tuned"))
    db.unlink(missing_ok=True)
    files = sorted(p.relative_to(landing).as_posix() for p in landing.rglob("*") if p.is_file() and not p.name.startswith(("_", ".")))
    con = duckdb.connect(str(db))
    per_table, rows = {}, 0
    started = time.perf_counter()
    for c in load_contracts():
        mine = [landing / f for f in files if fnmatch.fnmatchcase(f, c.file_pattern)]
        if not mine:
            continue
        listing = "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in mine) + "]"
        source = (_tuned_source(c, mine, listing) if tuned else None) or FORMATS[c.format].format(files=listing)
        t = time.perf_counter()
        con.execute(f"CREATE TABLE {c.name} AS SELECT * FROM {source}")
        per_table[c.name] = round(time.perf_counter() - t, 3)
        rows += con.execute(f"SELECT count(*) FROM {c.name}").fetchone()[0]
    con.execute("CHECKPOINT")
    seconds = time.perf_counter() - started
    con.close()
    return {"ok": True, "seconds": seconds, "rows": rows, "per_table": per_table, "db_bytes": db.stat().st_size, "tuned": tuned}


def _tuned_source(contract, files: list[Path], listing: str) -> str | None:
    """What a hand-tuned DuckDB load would do: no per-file sniffing, the contract's types given."""
    types = {col.name: col.type for col in contract.columns}
    if contract.format == "csv":
        header = files[0].open(encoding="utf-8", errors="replace").readline().lstrip("\ufeff").rstrip("\r\n").split(",")
        columns = "{" + ", ".join(f"'{h}': '{types.get(h, 'VARCHAR')}'" for h in header) + "}"
        return f"read_csv({listing}, auto_detect=false, header=true, delim=',', quote='\"', escape='\"', columns={columns})"
    if contract.format == "ndjson":
        columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in types.items()) + "}"
        return f"read_json({listing}, format='newline_delimited', columns={columns})"
    return None  # Parquet: read_parquet is already the direct path


def task_build(args: dict) -> dict:
    """run_everything on the instance in DAGSTER_HOME; durations per step from its event log."""
    import io
    from contextlib import redirect_stdout

    import dagster as dg

    started_import = time.perf_counter()
    from analytics_platform.definitions import defs
    from analytics_platform.materialize_all import run_everything

    import_seconds = time.perf_counter() - started_import
    graph = defs.resolve_asset_graph()
    keys = list(graph.materializable_asset_keys)
    dbt_keys = [k for k in keys if "dbt" in (graph.get(k).kinds or set())]
    instance = dg.DagsterInstance.get()
    known_runs = {r.run_id for r in instance.get_runs()}
    buffer = io.StringIO()
    started = time.perf_counter()
    with redirect_stdout(buffer):
        code = run_everything(defs, instance)
    seconds = time.perf_counter() - started
    out = {"ok": code == 0, "exit_code": code, "seconds": seconds, "definitions_import_seconds": import_seconds,
           "assets": len(keys), "dbt_assets": len(dbt_keys), "summary": buffer.getvalue()[-3000:]}
    out.update(_run_stats(instance, known_runs))
    out["dbt"] = _dbt_run_results(Path(args["state"]), args.get("since", 0.0))
    return out


def task_refresh(args: dict) -> dict:
    """One more day of files, the way the running platform handles it, in this process.

    The real landing sensor is evaluated before and after the files are copied in (so its
    cursor knows the earlier files); its run request (load + the dbt models above) is executed,
    then declarative automation is evaluated and whatever it requests is run, until it requests
    nothing: what the daemon would launch, without the daemon's launch latency.
    """
    import io
    import os
    import shutil
    from contextlib import redirect_stdout

    import dagster as dg

    from analytics_platform.definitions import defs
    from analytics_platform.defs.ingestion.sensors import landing_sensor
    from analytics_platform.resources import WarehouseResource

    instance = dg.DagsterInstance.get()
    job = defs.resolve_implicit_global_asset_job_def()

    def sensor(cursor):
        with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs,
                                     resources={"warehouse": WarehouseResource()}) as context:
            return landing_sensor(context)

    def requested(result) -> list:
        return [r.key for r in result.results if isinstance(r.key, dg.AssetKey) and r.true_subset.size]

    def run(selection, run_config=None, tags=None):
        return job.execute_in_process(instance=instance, asset_selection=list(selection), run_config=run_config,
                                      tags=tags, raise_on_error=False)

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        before = sensor(None)  # the files already loaded: only its cursor matters
        automation = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        if due := requested(automation):  # steady state first, as a daemon that has been ticking
            run(due)
            automation = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=automation.cursor)
        landing = Path(args["landing"])
        for source, relative in args["files"]:
            target = landing / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            os.utime(target, (time.time() - 60, time.time() - 60))  # settled
        known_runs = {r.run_id for r in instance.get_runs()}
        since = time.time()
        started = time.perf_counter()
        (request,) = sensor(before.cursor).run_requests
        results = [run(request.asset_selection, request.run_config, request.tags)]
        landing_seconds = time.perf_counter() - started
        rounds: list[list[str]] = []
        while (due := requested(automation := dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                                                cursor=automation.cursor))):
            rounds.append(sorted(k.to_user_string() for k in due))
            results.append(run(due))
            if len(rounds) > 5:
                break
        seconds = time.perf_counter() - started
    out = {"ok": all(r.success for r in results), "seconds": seconds, "landing_run_seconds": landing_seconds,
           "landing_run_assets": sorted(k.to_user_string() for k in request.asset_selection),
           "automation_rounds": rounds, "summary": buffer.getvalue()[-3000:]}
    out.update(_run_stats(instance, known_runs))
    out["dbt"] = _dbt_run_results(Path(args["state"]), since)
    return out


def _run_stats(instance, known: set[str]) -> dict:
    runs = [r for r in instance.get_runs() if r.run_id not in known]
    steps: dict[str, float] = {}
    failed: list[str] = []
    for run in runs:
        for stat in instance.get_run_step_stats(run.run_id):
            if stat.end_time and stat.start_time:
                steps[stat.step_key] = round(steps.get(stat.step_key, 0.0) + stat.end_time - stat.start_time, 3)
            if stat.status and stat.status.value != "SUCCESS":
                failed.append(f"{stat.step_key}: {stat.status.value}")
    return {"runs": [r.run_id for r in runs], "steps": steps, "failed_steps": failed}


def _dbt_run_results(state: Path, since: float) -> dict[str, Any]:
    """Per-node times of the dbt invocations written after ``since`` (dbt's run_results.json)."""
    runs = state / "dbt" / "runs"
    out: dict[str, Any] = {"invocations": [], "nodes": {}}
    if not runs.exists():
        return out
    for folder in sorted(runs.iterdir(), key=lambda p: p.stat().st_mtime):
        results = folder / "run_results.json"
        if not results.exists() or results.stat().st_mtime < since:
            continue
        data = json.loads(results.read_text())
        out["invocations"].append({"folder": str(folder), "elapsed": data.get("elapsed_time"), "args": data.get("args", {}).get("which")})
        for r in data.get("results", []):
            out["nodes"][r["unique_id"]] = {"seconds": round(r.get("execution_time") or 0.0, 3), "status": r.get("status")}
    return out


def task_build_floor(args: dict) -> dict:
    """The dbt project's compiled SQL, straight through one DuckDB connection, in dbt's order.

    Raw tables are first copied from the DuckLake into a native DuckDB file attached as ``lake``
    (so the compiled names ``"lake"."raw"...`` resolve; not timed). Then every node of the dbt run
    is executed in run order: seeds are read from their CSV, models/snapshots become
    ``CREATE OR REPLACE TABLE|VIEW <relation> AS <compiled select>``, tests are run as queries.
    """
    import duckdb

    from analytics_platform import warehouse
    from analytics_platform.resources import WarehouseResource

    run_dir = Path(args["run_dir"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    results = json.loads((run_dir / "run_results.json").read_text())["results"]
    nodes = {**manifest["nodes"]}
    db = Path(args["db"])
    db.unlink(missing_ok=True)
    settings = WarehouseResource(state_dir=args["state"]).settings
    con = duckdb.connect(config={"extension_directory": warehouse.extension_directory()})
    con.execute("LOAD ducklake; LOAD sqlite")
    con.execute(warehouse.attach_sql(settings, read_only=True).replace(f" AS {warehouse.LAKE} ", " AS src "))
    con.execute(f"ATTACH '{db}' AS lake")
    t = time.perf_counter()
    for (table,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'src' AND schema_name = 'raw'").fetchall():
        con.execute("CREATE SCHEMA IF NOT EXISTS lake.raw")
        con.execute(f'CREATE TABLE lake.raw."{table}" AS FROM src.raw."{table}"')
    copy_seconds = time.perf_counter() - t
    con.execute("DETACH src")
    con.execute("USE lake")
    per_node: dict[str, float] = {}
    kinds: dict[str, float] = collections.defaultdict(float)
    skipped: list[str] = []
    started = time.perf_counter()
    for r in results:
        node = nodes.get(r["unique_id"])
        if node is None:
            skipped.append(r["unique_id"])
            continue
        kind = node["resource_type"]
        relation = f'"{node["database"]}"."{node["schema"]}"."{node.get("alias") or node["name"]}"'
        t = time.perf_counter()
        try:
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{node["database"]}"."{node["schema"]}"') if kind != "test" else None
            if kind == "seed":
                path = Path(args["project_dir"]) / node["original_file_path"]
                con.execute(f"CREATE OR REPLACE TABLE {relation} AS FROM read_csv('{path}')")
            else:
                sql = _compiled_sql(run_dir, node)
                if sql is None:
                    skipped.append(r["unique_id"])
                    continue
                if kind == "test":
                    con.execute(f"SELECT count(*) FROM ({sql}) t").fetchone()
                else:
                    materialized = node["config"].get("materialized", "view")
                    what = "VIEW" if materialized in ("view", "ephemeral") else "TABLE"
                    con.execute(f"CREATE OR REPLACE {what} {relation} AS {sql}")
        except duckdb.Error as error:
            skipped.append(f"{r['unique_id']}: {str(error).splitlines()[0][:200]}")
            continue
        per_node[r["unique_id"]] = round(time.perf_counter() - t, 4)
        kinds[kind] += time.perf_counter() - t
    con.execute("CHECKPOINT")
    seconds = time.perf_counter() - started
    con.close()
    return {"ok": True, "seconds": seconds, "copy_raw_seconds": copy_seconds, "per_kind": {k: round(v, 3) for k, v in kinds.items()},
            "per_node": per_node, "skipped": skipped, "db_bytes": db.stat().st_size}


def _compiled_sql(run_dir: Path, node: dict) -> str | None:
    if node.get("compiled_code"):
        return node["compiled_code"].rstrip().rstrip(";")
    path = run_dir / "compiled" / node["package_name"] / node["original_file_path"]
    if node["resource_type"] == "test" and not path.exists():
        candidates = list((run_dir / "compiled" / node["package_name"]).rglob(f"{node['name']}.sql"))
        path = candidates[0] if candidates else path
    return path.read_text().rstrip().rstrip(";") if path.exists() else None


TASKS = {"ingest": task_ingest, "ingest_floor": task_ingest_floor, "build": task_build, "build_floor": task_build_floor,
         "refresh": task_refresh}


def main() -> int:
    task, args = sys.argv[1], json.loads(sys.argv[2])
    try:
        result = TASKS[task](args)
    except Exception:  # noqa: BLE001 - reported to the harness, which marks the stage failed
        result = {"ok": False, "error": traceback.format_exc()[-4000:]}
    print("RESULT " + json.dumps(result, default=str), flush=True)
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())

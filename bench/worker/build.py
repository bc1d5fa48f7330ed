"""Cold build: ``run_everything`` (every asset once) on the Dagster instance in DAGSTER_HOME; step
durations from its event log, per-node times from dbt's run_results.json."""

from __future__ import annotations

import io
import time
from contextlib import redirect_stdout
from pathlib import Path

from bench.worker.records import dbt_run_results, run_stats


def measure(args: dict) -> dict:
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
    out.update(run_stats(instance, known_runs))
    out["dbt"] = dbt_run_results(Path(args["state"]), args.get("since", 0.0))
    return out

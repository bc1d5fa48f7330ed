"""One more day of files, the way the running platform handles it, in this process.

The real landing sensor is evaluated before and after the files are copied in (so its cursor
knows the earlier files); its run request (load + the dbt models above; shared mode: a request per source, one after the other) is executed, then
declarative automation is evaluated and whatever it requests is run, until it requests nothing:
what the daemon would launch, without the daemon's launch latency.
"""

from __future__ import annotations

import io
import os
import shutil
import time
from contextlib import redirect_stdout
from pathlib import Path

from bench.worker.records import dbt_run_results, run_stats

MAX_AUTOMATION_ROUNDS = 6  # more means automation keeps requesting: reported, not looped on


def measure(args: dict) -> dict:
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
        # one run; in shared mode one per source, run here one after the other (their dbt steps take turns anyway)
        requests = sensor(before.cursor).run_requests
        results = [run(r.asset_selection, r.run_config, r.tags) for r in requests]
        landing_seconds = time.perf_counter() - started
        rounds: list[list[str]] = []
        while (due := requested(automation := dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                                                cursor=automation.cursor))):
            rounds.append(sorted(k.to_user_string() for k in due))
            results.append(run(due))
            if len(rounds) >= MAX_AUTOMATION_ROUNDS:
                break
        seconds = time.perf_counter() - started
    out = {"ok": all(r.success for r in results), "seconds": seconds, "landing_run_seconds": landing_seconds,
           "landing_run_assets": sorted({k.to_user_string() for r in requests for k in r.asset_selection}), "landing_runs": len(requests),
           "automation_rounds": rounds, "summary": buffer.getvalue()[-3000:]}
    out.update(run_stats(instance, known_runs))
    out["dbt"] = dbt_run_results(Path(args["state"]), since)
    return out

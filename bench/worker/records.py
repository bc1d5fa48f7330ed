"""What a measured run left behind: step durations from Dagster, node times from dbt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def step_seconds(result) -> dict[str, float]:
    """STEP_SUCCESS / STEP_FAILURE durations of an in-process run, from its events."""
    out = {}
    for e in result.all_events:
        if e.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and e.event_specific_data is not None:
            duration = getattr(e.event_specific_data, "duration_ms", None)
            if duration is not None:
                out[e.step_key] = round(duration / 1000, 3)
    return out


def run_stats(instance, known: set[str]) -> dict:
    """Runs on ``instance`` other than ``known``: their ids, summed step times and failed steps."""
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


def dbt_run_results(state: Path, since: float) -> dict[str, Any]:
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

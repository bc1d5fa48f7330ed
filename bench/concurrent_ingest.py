"""Shared mode: ingestion runs of different sources side by side (issue 13).

``python -m bench.concurrent_ingest --scale 1``: PostgreSQL + SeaweedFS are started for the run;
the sample shop's four sources (shop, web, marketing, experiments) are loaded by one process per
source (``bench.worker ingest``: ``dg.materialize([raw_tables])`` on a landing folder holding that
source's files only, as the landing sensor's per-source run does in shared mode), into one fresh
DuckLake per round:

- ``1 at a time`` — the four, one after another: the floor of the same run (what the embedded
  mode's single writer slot allows);
- ``2 at a time`` — two pairs one after another, each pair side by side (largest with smallest);
- ``4 at a time`` — all four at once.

The work is the same in each round, so the ratio of wall times is the gain (goal: 4 at once
"well under 4× one": here, well under the sequential sum). Every round's raw row counts must
be the same (the ledger's loaded rows), or the bench fails. Results: printed, and
``bench/results/concurrent_ingest.json`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path

from bench import scale as scale_module
from bench.procs import run_worker
from bench.scale import ScaleRun, log

SOURCES = ("shop", "web", "marketing", "experiments")
RESULTS = Path(__file__).resolve().parent / "results"


def _landing(run: ScaleRun, base: Path, source: str) -> tuple[Path, Path, Path]:
    landing, state, home = base / source / "landing", base / source / "state", base / source / "dagster_home"
    for p in run.cold_files:
        relative = p.relative_to(run.generated)
        if relative.parts[0] == source:
            (landing / relative).parent.mkdir(parents=True, exist_ok=True)
            os.link(p, landing / relative)
    state.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    return landing, state, home


def _round(run: ScaleRun, at_once: int, sizes: dict[str, int]) -> dict:
    """The four sources into one new lake, ``at_once`` processes at a time."""
    lake = f"bench_{uuid.uuid4().hex[:12]}"
    base = run.dir / f"at-once-{at_once}"
    order = sorted(SOURCES, key=sizes.get, reverse=True)
    if at_once == 2:
        waves = [[order[0], order[3]], [order[1], order[2]]]
    else:
        waves = [order[i:i + at_once] for i in range(0, len(order), at_once)]
    per_source: dict[str, dict] = {}
    started = time.perf_counter()
    for wave in waves:
        threads = []
        for source in wave:
            landing, state, home = _landing(run, base, source)
            scale_module._LAKES[str(state)] = lake  # every process of the round on one lake
            env = ScaleRun.env(landing, state, home)

            def work(source=source, landing=landing, state=state, env=env) -> None:
                result = run_worker("ingest", {"state": str(state), "landing": str(landing), "instrument": False}, env=env,
                                    log=run.logs / f"at-once-{at_once}-{source}.log")
                tables = result.data.get("rows_per_table", {})  # the whole lake's ledger: this source's tables only
                per_source[source] = {"ok": result.ok, "seconds": round(result.seconds, 2), "step_seconds": result.data.get("step_seconds"),
                                      "rows": sum(n for table, n in tables.items() if table.split(".")[-1].strip('"').startswith(f"{source}__")),
                                      "output_tail": "" if result.ok else result.output[-1500:]}

            threads.append(threading.Thread(target=work))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    wall = time.perf_counter() - started
    return {"at_once": at_once, "waves": waves, "wall_seconds": round(wall, 2), "sources": per_source,
            "ok": all(s["ok"] for s in per_source.values()) and len(per_source) == len(SOURCES)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.concurrent_ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "analytics-bench")
    args = parser.parse_args(argv)
    from analytics_platform.shared.servers import shared_servers

    with shared_servers() as servers:
        scale_module.SHARED = servers
        run = ScaleRun(args.scale, args.days, args.workdir, keep_data=True)
        run.prepare_data()
        sizes = {s: sum(p.stat().st_size for p in run.cold_files if p.relative_to(run.generated).parts[0] == s) for s in SOURCES}
        rounds = []
        for at_once in (1, 2, 4):
            log(f"scale {args.scale:g}: four sources, {at_once} at a time")
            result = _round(run, at_once, sizes)
            rows = sum(s["rows"] or 0 for s in result["sources"].values())
            result["rows"] = rows
            rounds.append(result)
            log(f"  {result['wall_seconds']} s, {rows:,} rows, ok={result['ok']}")
        run.cleanup()
    machine = {"load_average_end": list(os.getloadavg()), "cpus": os.cpu_count()}
    floor = rounds[0]["wall_seconds"]
    out = {"scale": args.scale, "days": args.days, "bytes_per_source": sizes, "rounds": rounds, "machine": machine}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "concurrent_ingest.json").write_text(json.dumps(out, indent=2, default=str))
    print(f"\nscale {args.scale:g}, four sources into one shared DuckLake (PostgreSQL catalog, SeaweedFS data), "
          f"load average at end {machine['load_average_end'][0]:.1f} on {machine['cpus']} cores")
    print("| at a time | wall | vs 1 at a time | slowest source alone in its wave | rows | ok |\n|---|---|---|---|---|---|")
    for r in rounds:
        slowest = max(r["sources"].items(), key=lambda kv: kv[1]["seconds"])
        print(f"| {r['at_once']} | {r['wall_seconds']:.1f} s | {r['wall_seconds'] / floor:.2f}× | {slowest[0]} {slowest[1]['seconds']:.1f} s "
              f"| {r['rows']:,} | {r['ok']} |")
    return 0 if all(r["ok"] for r in rounds) and len({r["rows"] for r in rounds}) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())

"""The benchmark harness: ``python -m bench --scales 1,10`` (details in bench/README.md).

For each scale, from a clean state in a work folder: sample data (the requested days plus two
held-back days), then the stages:

    ingest       landing → raw tables through the platform vs plain DuckDB (two floors)
    build        cold build of everything (``run_everything``) vs the compiled dbt SQL in DuckDB
    incremental  one more day of files → marts and ML refreshed, as a fraction of the cold build
    latency      ``dagster dev``: a day of files dropped → mart refreshed (goal ≤ 20 s)

plus, once, the cold build at a tiny scale (fixed overhead). A stage that cannot run (its input,
e.g. a successful cold build, is missing) is reported "not available" with the reason, and the
other stages still run. Every process's peak RSS and the
warehouse size on disk are recorded. Results: ``bench/results/<time>.json`` (+ ``latest.json``)
and the table in ``docs/BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sys
from pathlib import Path

from bench import machine, report, scale as scale_module
from bench.procs import run_cmd
from bench.scale import ROOT, ScaleRun, log

RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs" / "BENCHMARKS.md"
STAGES = ("ingest", "build", "incremental", "latency")


def probe_platform(env: dict[str, str]) -> dict:
    """Which stages exist: import the definitions in a child and look for dbt and ML assets."""
    code = (
        "import json\n"
        "try:\n"
        "    from analytics_platform.definitions import defs\n"
        "    g = defs.resolve_asset_graph(); keys = list(g.materializable_asset_keys)\n"
        "    kinds = [g.get(k).kinds or set() for k in keys]\n"
        "    print('RESULT ' + json.dumps({'ok': True, 'assets': len(keys), 'dbt_assets': sum('dbt' in k for k in kinds),\n"
        "          'groups': sorted({g.get(k).group_name or '' for k in keys})}))\n"
        "except Exception as e:\n"
        "    print('RESULT ' + json.dumps({'ok': True, 'assets': 0, 'dbt_assets': 0, 'reason': f'definitions do not load: {e!r}'[:500]}))\n"
    )
    return run_cmd([sys.executable, "-c", code], env=env).data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="1,10", help="comma-separated sample-data scales (1 ≈ 1M events, 100 MB)")
    parser.add_argument("--days", type=int, default=120, help="days of data for the cold stages (two more are generated)")
    parser.add_argument("--stages", default=",".join(STAGES), help=f"subset of {','.join(STAGES)}")
    parser.add_argument("--overhead-scale", type=float, default=0.01, help="tiny scale for the fixed overhead (0 to skip)")
    parser.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "analytics-bench")
    parser.add_argument("--keep-data", action="store_true", help="keep generated sample data for the next run")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the ingest comparison (medians are reported)")
    parser.add_argument("--fresh", action="store_true",
                        help="do not merge into bench/results/latest.json (by default, stages not run now keep their last results)")
    parser.add_argument("--no-docs", action="store_true", help=f"do not rewrite {DOCS.relative_to(ROOT)}")
    parser.add_argument("--report", type=Path, help="only render docs/BENCHMARKS.md from this results JSON")
    parser.add_argument("--warehouse", choices=("embedded", "shared"), default="embedded",
                        help="shared: every platform on a DuckLake of its own on PostgreSQL + SeaweedFS started for the run")
    args = parser.parse_args(argv)
    if args.report:
        DOCS.write_text(report.render(json.loads(args.report.read_text())))
        print(f"wrote {DOCS}")
        return 0
    stages = [s for s in args.stages.split(",") if s]
    unknown = set(stages) - set(STAGES)
    if unknown:
        parser.error(f"unknown stage(s) {sorted(unknown)}")
    if args.warehouse == "shared":
        from analytics_platform.shared.servers import shared_servers

        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a stopped run stops its servers too (the context exits)

        with shared_servers() as servers:
            scale_module.SHARED = servers
            return _measure(args, stages)
    return _measure(args, stages)


def _measure(args: argparse.Namespace, stages: list[str]) -> int:
    args.workdir.mkdir(parents=True, exist_ok=True)
    previous = json.loads((RESULTS / "latest.json").read_text()) if (RESULTS / "latest.json").exists() else None
    started = dt.datetime.now(dt.UTC)
    results: dict = {"started": started.isoformat(timespec="seconds"), "machine": machine.describe(args.workdir),
                     "stages": stages, "scales": {}, "warehouse": args.warehouse}
    probe = probe_platform(ScaleRun.env(args.workdir, args.workdir, args.workdir))
    results["platform"] = probe
    log(f"platform: {probe.get('assets')} assets, {probe.get('dbt_assets')} dbt assets {probe.get('reason', '')}")
    scales = [float(s) for s in args.scales.split(",") if s]
    if args.overhead_scale and "build" in stages:
        run = ScaleRun(args.overhead_scale, min(args.days, 30), args.workdir, args.keep_data)
        run.prepare_data()
        run.build(probe)
        run.cleanup()
        results["overhead"] = run.results
    for scale in scales:
        run = ScaleRun(scale, args.days, args.workdir, args.keep_data)
        run.prepare_data()
        if "ingest" in stages:
            run.ingest(args.repeat)
        if {"build", "incremental", "latency"} & set(stages):
            run.build(probe)
        if "incremental" in stages:
            run.incremental()
        if "latency" in stages:
            run.latency()
        run.cleanup()
        results["scales"][f"{scale:g}"] = run.results
        _save(results)
    results["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results["machine"]["load_average_at_end"] = machine.load_average()
    if not args.fresh and previous:
        results = _merge_previous(results, previous)
    path = _save(results)
    log(f"results: {path}")
    if not args.no_docs:
        DOCS.parent.mkdir(exist_ok=True)
        DOCS.write_text(report.render(results))
        log(f"table: {DOCS}")
    print(report.summary(results))
    return 0


def _merge_previous(results: dict, previous: dict) -> dict:
    """Keep, from the last results file, the stages and scales this run did not measure (marked
    with the time they were measured), so one stage can be re-run without redoing the others."""
    merged = {**results, "scales": {}}
    for name in sorted(set(previous.get("scales", {})) | set(results["scales"]), key=float):
        old, new = previous.get("scales", {}).get(name, {}), results["scales"].get(name)
        if new is None:
            merged["scales"][name] = {**old, "measured": old.get("measured", previous["started"])}
            continue
        combined = dict(new)
        for stage in STAGES:
            if (stage not in results["stages"] or stage not in new) and stage in old:
                combined[stage] = {**old[stage], "measured": old[stage].get("measured", previous["started"])}
        merged["scales"][name] = combined
    if "overhead" not in results and "overhead" in previous:
        merged["overhead"] = {**previous["overhead"], "measured": previous["overhead"].get("measured", previous["started"])}
    return merged


def _save(results: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{results['started'].replace(':', '').replace('+0000', 'Z')}.json"
    text = json.dumps(results, indent=1, default=str)
    path.write_text(text)
    (RESULTS / "latest.json").write_text(text)
    return path

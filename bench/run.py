"""The benchmark harness: ``python -m bench --scales 1,10`` (details in bench/README.md).

For each scale, from a clean state in a work folder: sample data (the requested days plus two
held-back days), then the stages:

    ingest       landing → raw tables through the platform vs plain DuckDB (two floors)
    build        cold build of everything (``run_everything``) vs the compiled dbt SQL in DuckDB
    incremental  one more day of files → marts and ML refreshed, as a fraction of the cold build
    latency      ``dagster dev``: a day of files dropped → mart refreshed (goal ≤ 20 s)

plus, once, the cold build at a tiny scale (fixed overhead). A stage whose code does not exist yet
is reported "not available" instead of failing the harness. Every process's peak RSS and the
warehouse size on disk are recorded. Results: ``bench/results/<time>.json`` (+ ``latest.json``)
and the table in ``docs/BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

from bench import machine, report
from bench.procs import Result, dir_size, run_cmd, run_worker

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs" / "BENCHMARKS.md"
STAGES = ("ingest", "build", "incremental", "latency")
DATED = re.compile(r"(\d{4}-\d{2}-\d{2})")


def log(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", flush=True)


def _stage_result(result: Result, **extra) -> dict:
    data = dict(result.data)
    data.pop("summary", None)
    out = {"ok": result.ok, "wall_seconds": round(result.seconds, 2), "peak_rss_mib": result.peak_rss_mib, **data, **extra}
    if not result.ok:
        out["output_tail"] = result.output[-2500:]
    return out


class ScaleRun:
    """Everything measured at one scale, in ``workdir/scale-<s>``."""

    def __init__(self, scale: float, days: int, workdir: Path, keep_data: bool) -> None:
        self.scale, self.days = scale, days
        self.dir = workdir / f"scale-{scale:g}"
        self.logs = workdir / "logs" / f"scale-{scale:g}"  # kept after the run
        shutil.rmtree(self.logs, ignore_errors=True)
        self.logs.mkdir(parents=True)
        self.data = workdir / "data" / f"scale-{scale:g}-days-{days}"
        self.keep_data = keep_data
        self.results: dict = {"scale": scale, "days": days}

    # --- data ------------------------------------------------------------------------------------

    def prepare_data(self) -> None:
        """Sample data for days + 2; the last two dates are held back (incremental, latency)."""
        full = self.data / "generated"
        if not (full / "_ground_truth.json").exists():
            shutil.rmtree(self.data, ignore_errors=True)
            log(f"scale {self.scale:g}: generating {self.days + 2} days of sample data")
            started = time.perf_counter()
            r = run_cmd([sys.executable, "-m", "analytics_platform.sample_data", "--scale", str(self.scale),
                         "--days", str(self.days + 2), "--out", str(full)], log=self.data / "generate.log")
            if not r.ok and not (full / "_ground_truth.json").exists():
                raise RuntimeError(f"sample data generation failed:\n{r.output}")
            self.results["generate_seconds"] = round(time.perf_counter() - started, 1)
        files = [p for p in full.rglob("*") if p.is_file() and not p.name.startswith(("_", "."))]
        dates = sorted({m.group(1) for p in files if (m := DATED.search(p.name))})
        incremental_day, latency_day = dates[-2], dates[-1]
        self.cold_files = [p for p in files if not (m := DATED.search(p.name)) or m.group(1) < incremental_day]
        self.incremental_files = [p for p in files if (m := DATED.search(p.name)) and m.group(1) == incremental_day]
        self.latency_files = [p for p in files if (m := DATED.search(p.name)) and m.group(1) == latency_day]
        self.generated = full
        self.results["data"] = {
            "files": len(self.cold_files), "bytes": sum(p.stat().st_size for p in self.cold_files),
            "incremental_day": incremental_day, "incremental_files": len(self.incremental_files),
            "incremental_bytes": sum(p.stat().st_size for p in self.incremental_files),
            "latency_day": latency_day, "latency_files": len(self.latency_files),
        }

    def fresh_platform(self, name: str) -> tuple[Path, Path, Path]:
        """(landing, state, dagster_home) of a clean platform holding the cold files (hard links)."""
        base = self.dir / name
        shutil.rmtree(base, ignore_errors=True)
        landing, state, home = base / "landing", base / "state", base / "dagster_home"
        for p in self.cold_files:
            target = landing / p.relative_to(self.generated)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(p, target)
            except OSError:
                shutil.copy2(p, target)
        state.mkdir(parents=True)
        home.mkdir(parents=True)
        (home / "dagster.yaml").symlink_to(ROOT / "dagster.yaml")
        return landing, state, home

    @staticmethod
    def env(landing: Path, state: Path, home: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANALYTICS_", "DAGSTER_"))}
        env.update(ANALYTICS_STATE_DIR=str(state), ANALYTICS_WAREHOUSE_DIR=str(state / "warehouse"),
                   ANALYTICS_LANDING_DIR=str(landing), DAGSTER_HOME=str(home), PYTHONUNBUFFERED="1",
                   PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        return env

    # --- stages ----------------------------------------------------------------------------------

    def ingest(self, repeat: int = 1) -> None:
        """Platform, floor and tuned floor, interleaved ``repeat`` times; medians are reported."""
        samples: dict[str, list[Result]] = {"platform": [], "floor": [], "floor_tuned": []}
        for round_ in range(1, repeat + 1):
            landing, state, home = self.fresh_platform("ingest")
            env = self.env(landing, state, home)
            suffix = f" (round {round_}/{repeat})" if repeat > 1 else ""
            log(f"scale {self.scale:g}: ingest through the platform ({self.results['data']['files']} files){suffix}")
            samples["platform"].append(run_worker("ingest", {"state": str(state), "landing": str(landing)}, env=env,
                                                  log=self.logs / f"ingest-{round_}.log"))
            warehouse_bytes = dir_size(state / "warehouse")
            log(f"scale {self.scale:g}: ingest floor (plain DuckDB, auto-detect){suffix}")
            samples["floor"].append(run_worker("ingest_floor", {"landing": str(landing), "db": str(self.dir / "floor.duckdb")},
                                               env=env, log=self.logs / f"ingest_floor-{round_}.log"))
            log(f"scale {self.scale:g}: ingest floor (plain DuckDB, explicit dialect and types){suffix}")
            samples["floor_tuned"].append(run_worker("ingest_floor", {"landing": str(landing), "db": str(self.dir / "floor_tuned.duckdb"),
                                                                      "tuned": True}, env=env, log=self.logs / f"ingest_floor_tuned-{round_}.log"))
            shutil.rmtree(self.dir / "ingest", ignore_errors=True)
            for name in ("floor.duckdb", "floor_tuned.duckdb"):
                (self.dir / name).unlink(missing_ok=True)
        bytes_in = self.results["data"]["bytes"]
        out: dict = {"repeat": repeat}
        for name, results in samples.items():
            good = sorted((r for r in results if r.ok), key=lambda r: r.data["seconds"])
            median = good[len(good) // 2] if good else results[-1]
            out[name] = _stage_result(median)
            if good:
                out[name]["all_seconds"] = [round(r.data["seconds"], 2) for r in results if r.ok]
                out[name].update(rows_per_second=round(median.data["rows"] / median.data["seconds"]),
                                 mb_per_second=round(bytes_in / median.data["seconds"] / 1e6, 2))
        if out["platform"].get("ok"):
            out["platform"]["warehouse_bytes"] = warehouse_bytes
            for name in ("floor", "floor_tuned"):
                if out[name].get("ok"):  # platform throughput / floor throughput
                    out[f"ratio_vs_{name}"] = round(out[name]["seconds"] / out["platform"]["seconds"], 3)
        self.results["ingest"] = out

    def build(self, probe: dict) -> None:
        if not probe.get("dbt_assets"):
            self.results["build"] = {"available": False, "reason": probe.get("reason", "no dbt assets in analytics_platform.definitions")}
            return
        self.landing, self.state, self.home = self.fresh_platform("platform")
        env = self.env(self.landing, self.state, self.home)
        log(f"scale {self.scale:g}: cold build (run_everything from a clean state)")
        cold = run_worker("build", {"state": str(self.state)}, env=env, log=self.logs / "build.log")
        out = {"available": True, "platform": _stage_result(cold)}
        if cold.ok or cold.data.get("steps"):
            steps = cold.data.get("steps", {})
            out["platform"]["transform_seconds"] = round(cold.data["seconds"] - steps.get("raw_tables", 0.0), 2)
            out["platform"]["warehouse_bytes"] = dir_size(self.state / "warehouse")
            out["platform"]["dbt_by_kind"] = _dbt_by_kind(cold.data.get("dbt", {}).get("nodes", {}))
        run_dir = _latest_dbt_run(self.state)
        if run_dir is None:
            out["floor"] = {"available": False, "reason": "the cold build left no dbt run folder (manifest + run_results)"}
        else:
            log(f"scale {self.scale:g}: build floor (compiled dbt SQL in one DuckDB connection)")
            floor = run_worker("build_floor", {"state": str(self.state), "db": str(self.dir / "build_floor.duckdb"),
                                               "run_dir": str(run_dir), "project_dir": str(ROOT / "dbt_project")},
                               env=env, log=self.logs / "build_floor.log")
            out["floor"] = _stage_result(floor)
            out["floor"].pop("per_node", None)
            (self.dir / "build_floor.duckdb").unlink(missing_ok=True)
            if floor.ok and cold.ok:
                dbt_step = cold.data["steps"].get("dbt_models")
                out["dbt_step_seconds"] = dbt_step
                out["dbt_elapsed_seconds"] = sum(i.get("elapsed") or 0 for i in cold.data["dbt"]["invocations"])
                out["ratio_dbt_step_vs_floor"] = round(floor.data["seconds"] / dbt_step, 3) if dbt_step else None
        self.results["build"] = out
        # Later stages need the marts: a failing ML step (reported above) does not stop them.
        steps = cold.data.get("steps", {})
        self.built = "dbt_models" in steps and not any(f.startswith("dbt_models") for f in cold.data.get("failed_steps", []))

    def incremental(self) -> None:
        if not getattr(self, "built", False):
            self.results["incremental"] = {"available": False, "reason": "needs a successful cold build"}
            return
        log(f"scale {self.scale:g}: incremental ({len(self.incremental_files)} files of {self.results['data']['incremental_day']})")
        files = [[str(p), str(p.relative_to(self.generated))] for p in self.incremental_files]
        inc = run_worker("refresh", {"state": str(self.state), "landing": str(self.landing), "files": files},
                         env=self.env(self.landing, self.state, self.home),
                         log=self.logs / "incremental.log")
        out = {"available": True, "platform": _stage_result(inc)}
        cold = self.results["build"]["platform"]
        if inc.data.get("seconds") and cold.get("seconds"):
            out["fraction_of_cold"] = round(inc.data["seconds"] / cold["seconds"], 3)
            out["platform"]["warehouse_bytes"] = dir_size(self.state / "warehouse")
            out["platform"]["dbt_by_kind"] = _dbt_by_kind(inc.data.get("dbt", {}).get("nodes", {}))
        self.results["incremental"] = out

    def latency(self) -> None:
        if not getattr(self, "built", False):
            self.results["latency"] = {"available": False, "reason": "needs a successful cold build"}
            return
        from analytics_platform.resources import WarehouseResource

        from bench import latency

        settings = WarehouseResource(state_dir=str(self.state), landing_dir=str(self.landing)).settings
        log(f"scale {self.scale:g}: latency with dagster dev ({len(self.latency_files)} files dropped)")
        try:
            out = latency.measure(self.env(self.landing, self.state, self.home), self.home, self.landing,
                                  self.latency_files, self.generated, settings, log_dir=self.logs)
            out["available"] = True
            out["goal_seconds"] = 20
        except Exception as error:  # noqa: BLE001 - reported, the harness goes on
            out = {"available": True, "ok": False, "error": str(error)[-3000:]}
        self.results["latency"] = out

    def cleanup(self) -> None:
        self.results["sizes"] = {"landing_bytes": self.results["data"]["bytes"]}
        if getattr(self, "state", None) is not None and self.state.exists():
            self.results["sizes"]["warehouse_bytes"] = dir_size(self.state / "warehouse")
            self.results["sizes"]["state_bytes"] = dir_size(self.state)
        shutil.rmtree(self.dir, ignore_errors=True)
        if not self.keep_data:
            shutil.rmtree(self.data, ignore_errors=True)


def _latest_dbt_run(state: Path) -> Path | None:
    runs = state / "dbt" / "runs"
    candidates = [d for d in runs.iterdir() if (d / "run_results.json").exists() and (d / "manifest.json").exists()] if runs.exists() else []
    return max(candidates, key=lambda d: (d / "run_results.json").stat().st_mtime) if candidates else None


def _dbt_by_kind(nodes: dict) -> dict:
    out: dict[str, dict] = {}
    for unique_id, node in nodes.items():
        kind = unique_id.split(".", 1)[0]
        entry = out.setdefault(kind, {"nodes": 0, "seconds": 0.0})
        entry["nodes"] += 1
        entry["seconds"] = round(entry["seconds"] + node.get("seconds", 0.0), 3)
    slowest = sorted(((n.get("seconds", 0.0), u) for u, n in nodes.items()), reverse=True)[:8]
    return {"by_kind": out, "slowest": [{"node": u, "seconds": s} for s, u in slowest]}


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
    args = parser.parse_args(argv)
    if args.report:
        DOCS.write_text(report.render(json.loads(args.report.read_text())))
        print(f"wrote {DOCS}")
        return 0
    stages = [s for s in args.stages.split(",") if s]
    unknown = set(stages) - set(STAGES)
    if unknown:
        parser.error(f"unknown stage(s) {sorted(unknown)}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    previous = json.loads((RESULTS / "latest.json").read_text()) if (RESULTS / "latest.json").exists() else None
    started = dt.datetime.now(dt.UTC)
    results: dict = {"started": started.isoformat(timespec="seconds"), "machine": machine.describe(args.workdir),
                     "stages": stages, "scales": {}}
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

"""The stages measured at one scale (``ScaleRun``), each in a clean platform in the work folder.

Sample data is generated for the requested days plus two held-back days (the incremental and
the latency stage land one each). Every measured step runs in its own process
(``bench.worker``), so its peak memory is its own.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sys
import time
import uuid
from pathlib import Path

from analytics_platform.settings import environment
from analytics_platform.shared.servers import SharedServers
from bench import report
from bench.procs import Result, dir_size, run_cmd, run_worker

ROOT = Path(__file__).resolve().parent.parent
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


# Set by ``python -m bench --warehouse shared``: every platform of the run gets a DuckLake of its own
# (database + data prefix) on these PostgreSQL + SeaweedFS servers instead of the embedded one.
SHARED: SharedServers | None = None
_LAKES: dict[str, str] = {}  # state folder → its lake's name


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
        _LAKES.pop(str(base / "state"), None)  # a clean platform: a new shared lake too
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
        if SHARED is not None:
            env.update(SHARED.lake_env(_LAKES.setdefault(str(state), f"bench_{uuid.uuid4().hex[:12]}")))
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
            else:  # e.g. a loader function the breakdown wraps no longer exists
                reason = (median.data.get("error") or median.output or "no output").strip().splitlines()[-1]
                log(f"scale {self.scale:g}: ingest {name} FAILED in every round: {reason}")
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

        env = self.env(self.landing, self.state, self.home)
        log(f"scale {self.scale:g}: latency with dagster dev ({len(self.latency_files)} files dropped)")
        try:
            with environment(env):  # the harness polls the warehouse and the instance dagster dev uses (shared: on the servers)
                settings = WarehouseResource(state_dir=str(self.state), landing_dir=str(self.landing)).settings
                out = latency.measure(env, self.home, self.landing, self.latency_files, self.generated, settings, log_dir=self.logs)
            out["available"] = True
            out["goal_seconds"] = report.LATENCY_GOAL_SECONDS
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

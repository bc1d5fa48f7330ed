"""Any dataset dropped in → table, profile, dashboard: ``python -m bench.any_dataset`` (issue 15's targets).

Each stage is measured with its floor in the same run, on this machine:

``land``       a ~100 MB CSV (the sample shop's web events with their session and product, 1,086,977 rows
               (all events the generator makes at scale 1.04; not repeated):
               ids, text categories, a timestamp, a decimal price, integers) in its own landing folder,
               loaded as an uncontracted dataset by the platform (``dg.materialize([raw_tables])`` in its
               own process, ``bench/worker/ingest.py``: step time and where it goes). Target < 5 s.
               Floors: plain DuckDB ``CREATE TABLE AS SELECT * FROM read_csv(<file>)`` into a native file,
               and the same into a fresh DuckLake (the platform's storage: Parquet + SQLite catalog).
``profile``    ``reports/dataset_profile`` of that table (~1.09M rows). Target < 30 s.
               Floor: one DuckDB ``SUMMARIZE`` of the same table on the same read-only connection.
``dashboard``  ``reports/dataset_dashboard`` of it: seconds, bytes, and whether it opens offline
               (headless Chromium with every host name unresolvable renders every chart; no tag loads
               anything from the network). Targets < 10 s, < 10 MB. Floor: one plotly figure written as a
               self-contained page (plotly.js inlined) with ``plotly.io.write_html``.
``burst``      20 public datasets (plotly's, scikit-learn's, matplotlib's sample data, and two slices of
               the shop's events as Parquet and NDJSON) dropped into landing at once while ``dagster dev``
               runs (project ``dagster.yaml``, temp ``DAGSTER_HOME``/state; ``bench/latency.py``): the landing
               sensor loads them, the profile sensor runs profile, model, dashboard and suggested contract
               per dataset. Target: every dashboard within 120 s of the drop.

Results: ``bench/results/any_dataset.json``; the table is printed (markdown).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

from bench import machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DATASET = "web_events"
TARGETS = {"land": 5.0, "profile": 30.0, "dashboard": 10.0, "burst": 120.0}
MAX_DASHBOARD_BYTES = 10_000_000
STAGES = ("land", "profile", "dashboard", "burst")


# --- data -----------------------------------------------------------------------------------------

def public_frames(shop_events) -> dict[str, tuple[str, object]]:
    """Name → (format, frame): 20 real public datasets as a user would drop them."""
    import plotly.express as px
    from sklearn import datasets as sk

    frames: dict[str, tuple[str, object]] = {}
    for name in ("carshare", "election", "experiment", "gapminder", "iris", "medals_long", "medals_wide", "stocks", "tips", "wind"):
        frames[f"px_{name}"] = ("csv", getattr(px.data, name)())
    for name in ("iris", "wine", "breast_cancer", "diabetes", "digits", "linnerud"):
        frames[f"sk_{name}"] = ("csv", getattr(sk, f"load_{name}")(as_frame=True).frame)
    import matplotlib

    sample = Path(matplotlib.get_data_path()) / "sample_data"
    frames["mpl_msft"] = ("copy", sample / "msft.csv")
    frames["mpl_stocks"] = ("copy", sample / "Stocks.csv")
    frames["shop_events_sample"] = ("parquet", shop_events.slice(0, 100_000))
    frames["shop_events_json"] = ("ndjson", shop_events.slice(100_000, 50_000))
    return frames


def write_dataset(root: Path, name: str, kind: str, frame) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "copy":
        path = folder / frame.name
        shutil.copyfile(frame, path)
    elif kind == "csv":
        path = folder / f"{name}.csv"
        frame.to_csv(path, index=False)
    elif kind == "parquet":
        path = folder / f"{name}.parquet"
        frame.write_parquet(path)
    else:
        path = folder / f"{name}.ndjson"
        frame.write_ndjson(path)
    return path


# --- offline check --------------------------------------------------------------------------------

class _Loads(HTMLParser):
    """Every URL a tag would load (not links: ``<a href>`` loads nothing), and the inline scripts."""

    LOADING = {"src", "href", "data", "poster", "srcset", "action", "background"}

    def __init__(self) -> None:
        super().__init__()
        self.remote: list[str] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if tag != "a" and key in self.LOADING and value and re.match(r"\s*(https?:)?//", value):
                self.remote.append(f"<{tag} {key}={value[:80]}>")
        self._in = tag if tag in ("script", "style") else None

    def handle_data(self, data):
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)

    def handle_endtag(self, tag):
        self._in = None


def offline_problems(html: str) -> list[str]:
    """Why the page would not open offline (empty when it does): remote loads, no inlined plotly.js, CSS
    that imports from the network. What scripts fetch (map tiles) only a browser shows: ``rendered_offline``."""
    parser = _Loads()
    parser.feed(html)
    problems = list(parser.remote)
    if any(re.search(r"(url\(|@import)\s*['\"]?(https?:)?//", s) for s in parser.styles):
        problems.append("a stylesheet loads from the network")
    charts = int(m.group(1)) if (m := re.search(r'data-charts="(\d+)"', html)) else 0
    if charts and not any("plotly.js v" in s and len(s) > 1_000_000 for s in parser.scripts):
        problems.append("plotly.js is not inlined")
    return problems


def rendered_offline(path: Path) -> dict:
    """Open ``path`` in headless Chromium with every host name unresolvable; count the charts drawn."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        return {"checked": False, "reason": "no chromium on PATH"}
    expected = int(m.group(1)) if (m := re.search(r'data-charts="(\d+)"', path.read_text(errors="replace"))) else 0
    with tempfile.TemporaryDirectory() as profile:
        started = time.perf_counter()
        out = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND",
             "--proxy-server=127.0.0.1:9", "--virtual-time-budget=15000", "--dump-dom", path.resolve().as_uri()],
            capture_output=True, text=True, timeout=180,
        )
    drawn = out.stdout.count('class="plot-container plotly"')  # one per chart plotly.js has drawn
    return {"checked": True, "charts": expected, "charts_drawn": drawn, "ok": out.returncode == 0 and drawn == expected,
            "seconds": round(time.perf_counter() - started, 1)}


# --- stages ---------------------------------------------------------------------------------------

def _env(landing: Path, state: Path, home: Path, datasets: Path) -> dict[str, str]:
    from bench.scale import ScaleRun

    return {**ScaleRun.env(landing, state, home), "ANALYTICS_DATASETS_DIR": str(datasets)}


def _timed(work) -> tuple[float, object]:
    started = time.perf_counter()
    value = work()
    return time.perf_counter() - started, value


def stage_land(work: Path, csv: Path, rows: int) -> dict:
    import duckdb

    from analytics_platform import warehouse as lake
    from analytics_platform.resources import WarehouseResource
    from bench.procs import run_worker

    landing, state, home = work / "landing", work / "state", work / "dagster_home"
    for folder in (state, home):
        folder.mkdir(parents=True, exist_ok=True)
    target = landing / DATASET / csv.name
    target.parent.mkdir(parents=True, exist_ok=True)
    os.link(csv, target)
    csv.read_bytes()  # the file in the page cache for everyone
    literal = lake.quote_literal(str(csv))
    load = machine.load_average()
    native = work / "floor.duckdb"
    with duckdb.connect(str(native)) as con:
        floor_s, _ = _timed(lambda: (con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv({literal})"), con.execute("CHECKPOINT")))
        floor_rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
    platform = run_worker("ingest", {"state": str(state), "landing": str(landing)}, env=_env(landing, state, home, work / "datasets"),
                          log=work / "ingest.log")
    if not platform.ok:
        raise RuntimeError(f"ingestion failed: {platform.output[-3000:]}")
    floor_lake_settings = WarehouseResource(state_dir=str(work / "floor_lake")).settings
    with lake.session(floor_lake_settings) as con:
        lake_s, _ = _timed(lambda: con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv({literal})"))
    data = platform.data
    assert data["rows"] == rows == floor_rows, (data["rows"], rows, floor_rows)
    return {
        "file_mb": round(csv.stat().st_size / 1e6, 1), "rows": rows, "load_average": [load, machine.load_average()],
        "platform_run_seconds": round(data["seconds"], 2), "platform_step_seconds": round(data["step_seconds"], 2),
        "worker_wall_seconds": round(platform.seconds, 2), "peak_rss_mib": platform.peak_rss_mib, "phases": data["phases"],
        "floor_native_seconds": round(floor_s, 2), "floor_ducklake_seconds": round(lake_s, 2),
    }


def stage_profile(work: Path, instance, warehouse) -> dict:
    import dagster as dg

    from analytics_platform.defs.reports.profiles import store
    from analytics_platform.defs.reports.profiles.assets import PARTITIONS_NAME, dataset_profile
    from analytics_platform.defs.reports.profiles.datasets import qualified_table

    load = machine.load_average()
    instance.add_dynamic_partitions(PARTITIONS_NAME, [DATASET])
    seconds, result = _timed(lambda: dg.materialize([dataset_profile], partition_key=DATASET, instance=instance, resources={"warehouse": warehouse}))
    assert result.success
    profile = store.load(warehouse.settings, DATASET)
    with warehouse.connect(read_only=True) as con:
        floor_s, summary = _timed(lambda: con.execute(f"SUMMARIZE {qualified_table(DATASET)}").fetchall())
    return {
        "rows": profile["rows"], "columns": len(profile["columns"]), "sampled": profile["sampled"], "load_average": [load, machine.load_average()],
        "asset_seconds": round(seconds, 2), "profile_seconds": profile["timings"]["total"], "breakdown": profile["timings"],
        "floor_summarize_seconds": round(floor_s, 2), "floor_columns": len(summary),
        "insights": [i["text"] for i in profile["insights"]],
    }


def stage_dashboard(work: Path, instance, warehouse) -> dict:
    import dagster as dg
    import plotly.graph_objects as go
    import plotly.io as pio

    from analytics_platform.defs.reports.profiles import store
    from analytics_platform.defs.reports.profiles.assets import dataset_dashboard

    load = machine.load_average()
    seconds, result = _timed(lambda: dg.materialize([dataset_dashboard], partition_key=DATASET, instance=instance, resources={"warehouse": warehouse}))
    assert result.success
    path = store.artifact_path(warehouse.settings, DATASET, ".html")
    profile = store.load(warehouse.settings, DATASET)
    measure = next(c for c in profile["columns"] if c["name"] == profile["main_measure"])
    bins = measure["histogram"]  # the floor draws the main measure's histogram, as the dashboard does
    figure = go.Figure(go.Bar(x=bins.get("values") or bins["edges"][1:], y=bins["counts"]))
    floor_s, _ = _timed(lambda: pio.write_html(figure, work / "floor.html", include_plotlyjs=True, full_html=True))
    html = path.read_text(encoding="utf-8")
    return {
        "load_average": [load, machine.load_average()], "asset_seconds": round(seconds, 2), "bytes": path.stat().st_size,
        "offline_problems": offline_problems(html), "chromium_offline": rendered_offline(path),
        "floor_one_chart_page_seconds": round(floor_s, 3), "floor_bytes": (work / "floor.html").stat().st_size,
    }


def stage_burst(work: Path, shop_events) -> dict:
    from analytics_platform.defs.ingestion.datasets import dataset_name
    from analytics_platform.defs.reports.profiles import store
    from analytics_platform.resources import WarehouseResource
    from bench import latency

    base = work / "burst"
    data, landing, state, home, datasets = (base / n for n in ("data", "landing", "state", "dagster_home", "datasets"))
    for folder in (landing, state, home, datasets):
        folder.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").symlink_to(ROOT / "dagster.yaml")
    files = [write_dataset(data, name, kind, frame) for name, (kind, frame) in public_frames(shop_events).items()]
    names = {dataset_name(p.relative_to(data).as_posix()): p for p in files}
    settings = WarehouseResource(state_dir=str(state), landing_dir=str(landing), datasets_dir=str(datasets)).settings

    def quarantined() -> set[str]:
        from analytics_platform import warehouse as lake

        try:
            with lake.session(settings, read_only=True) as con:
                return {dataset_name(r[0]) for r in con.execute("SELECT source_file FROM meta.quarantine").fetchall()}
        except Exception:  # noqa: BLE001 - no warehouse yet, or a commit under way: poll again
            return set()

    pending, first_seen = set(names), {}

    def done() -> bool:  # every dataset's first dashboard (the model's run renders it again later)
        for name in [n for n in pending if store.artifact_path(settings, n, ".html").exists()]:
            first_seen[name] = time.time()
            pending.discard(name)
        return not pending or not (pending - quarantined())

    load = machine.load_average()
    out = latency.measure(_env(landing, state, home, datasets), home, landing, files, data, settings, done=done, log_dir=base)
    out["load_average"] = [load, machine.load_average()]
    out["datasets"] = len(names)
    out["quarantined"] = sorted(quarantined())
    pages = {}
    for name in sorted(names):
        path = store.artifact_path(settings, name, ".html")
        if path.exists():
            pages[name] = {"bytes": path.stat().st_size, "offline_problems": offline_problems(path.read_text(encoding="utf-8")),
                           "first_after": round(first_seen[name] - out["dropped_at"], 1) if name in first_seen and out.get("dropped_at") else None,
                           "last_after": round(path.stat().st_mtime - out["dropped_at"], 1) if out.get("dropped_at") else None}
    out["dashboards"] = pages
    if pages:  # the largest page (a model's charts too) opened offline in a browser
        largest = max(pages, key=lambda n: pages[n]["bytes"])
        out["chromium_offline_largest"] = {"dataset": largest, **rendered_offline(store.artifact_path(settings, largest, ".html"))}
    runs = [r for r in out["runs"] if r["tags"].get("analytics/report") == "profile"]
    out["profile_runs"] = summary(runs)
    out["profile_runs"]["with_profile"] = len([r for r in runs if "reports/dataset_profile" in r["assets"]])
    return out


SPAWNED = "ENGINE_EVENT: Started process"


def summary(runs: list[dict]) -> dict:
    """Medians over the report runs: queue (created → started), launch (dequeued → first step), split
    into spawn (dequeued → the code server started the run's process) and code load (→ the process
    loaded the definitions and started the run), run (started → ended), and each step."""
    def between(r: dict, first: str, last: str) -> float | None:
        events = {(SPAWNED if k.startswith(SPAWNED) else k): v for k, v in r["launch_events"].items()}
        return events[last] - events[first] if {first, last} <= set(events) else None

    def median(first: str, last: str) -> float | None:
        return _median([x for r in runs if (x := between(r, first, last)) is not None])

    return {
        "count": len(runs),
        "first_created": min((r["created"] for r in runs), default=None),
        "last_ended": max((r["ended"] for r in runs if r["ended"]), default=None),
        "median_queue_seconds": _median([r["started"] - r["created"] for r in runs if r["started"]]),
        "median_launch_seconds": median("PIPELINE_STARTING", "STEP_START"),
        "median_spawn_seconds": median("PIPELINE_STARTING", SPAWNED),
        "median_code_load_seconds": median(SPAWNED, "PIPELINE_START"),
        "median_run_seconds": _median([r["ended"] - r["started"] for r in runs if r["ended"] and r["started"]]),
        "steps_median": {k: _median([r["steps"][k] for r in runs if k in r["steps"]]) for k in sorted({k for r in runs for k in r["steps"]})},
    }


def _median(values: list[float]) -> float | None:
    values = sorted(values)
    return round(values[len(values) // 2], 2) if values else None


# --- main -----------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.any_dataset", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_110_000, help="rows asked of the shop generator (default: 1,086,977 events, a 98 MB CSV)")
    parser.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated, from {','.join(STAGES)} (profile and dashboard need land)")
    parser.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "analytics-bench-any-dataset")
    args = parser.parse_args(argv)
    stages = [s for s in args.stages.split(",") if s]

    import dagster as dg

    from analytics_platform.resources import WarehouseResource
    from bench.model_analysis import events

    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    out: dict = {"machine": machine.describe(args.workdir), "targets": TARGETS}
    frame = events(args.rows)
    csv = args.workdir / f"{DATASET}.csv"
    frame.write_csv(csv)
    warehouse = WarehouseResource(state_dir=str(args.workdir / "state"), landing_dir=str(args.workdir / "landing"),
                                  datasets_dir=str(args.workdir / "datasets"))
    instance = dg.DagsterInstance.ephemeral()
    if "land" in stages:
        out["land"] = stage_land(args.workdir, csv, frame.height)
    if "profile" in stages:
        out["profile"] = stage_profile(args.workdir, instance, warehouse)
    if "dashboard" in stages:
        out["dashboard"] = stage_dashboard(args.workdir, instance, warehouse)
    if "burst" in stages:
        out["burst"] = stage_burst(args.workdir, frame)
    out["load_average_at_end"] = machine.load_average()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "any_dataset.json").write_text(json.dumps(out, indent=1, default=str))
    print(table(out))
    return 0


def table(out: dict) -> str:
    def verdict(seconds: float | None, target: float) -> str:
        return "–" if seconds is None else f"< {target:g} s ({'met' if seconds < target else 'MISSED'})"

    def ratio(a: float | None, b: float | None) -> str:
        return f"{a / b:.1f}×" if a and b else "–"

    lines = ["| target | platform | goal | floor (same run) | platform / floor | load average (1/5/15 min, at start) |", "|---|---|---|---|---|---|"]
    if land := out.get("land"):
        s = land["platform_step_seconds"]
        lines.append(f"| {land['file_mb']} MB CSV ({land['rows']:,} rows) → table | step {s:.1f} s (run {land['platform_run_seconds']:.1f} s) | "
                     f"{verdict(s, TARGETS['land'])} | DuckDB read_csv → native table {land['floor_native_seconds']:.1f} s; → DuckLake "
                     f"{land['floor_ducklake_seconds']:.1f} s | "
                     f"{ratio(s, land['floor_native_seconds'])} native, {ratio(s, land['floor_ducklake_seconds'])} DuckLake | "
                     f"{land['load_average'][0]} |")
    if prof := out.get("profile"):
        s = prof["profile_seconds"]
        lines.append(f"| profile of {prof['rows']:,} rows × {prof['columns']} columns | {s:.1f} s (asset run {prof['asset_seconds']:.1f} s) | "
                     f"{verdict(s, TARGETS['profile'])} | SUMMARIZE {prof['floor_summarize_seconds']:.1f} s | {ratio(s, prof['floor_summarize_seconds'])} | "
                     f"{prof['load_average'][0]} |")
    if dash := out.get("dashboard"):
        s = dash["asset_seconds"]
        offline = "opens offline" if not dash["offline_problems"] and dash["chromium_offline"].get("ok", True) else f"NOT offline: {dash['offline_problems']}"
        drawn = dash["chromium_offline"]
        drawn_text = f", Chromium offline drew {drawn['charts_drawn']}/{drawn['charts']} charts" if drawn.get("checked") else ""
        lines.append(f"| dashboard of it | {s:.1f} s, {dash['bytes'] / 1e6:.1f} MB, {offline}{drawn_text} | {verdict(s, TARGETS['dashboard'])}, < 10 MB "
                     f"({'met' if dash['bytes'] < MAX_DASHBOARD_BYTES else 'MISSED'}) | one-chart plotly page {dash['floor_one_chart_page_seconds']:.2f} s, "
                     f"{dash['floor_bytes'] / 1e6:.1f} MB | {ratio(s, dash['floor_one_chart_page_seconds'])} | {dash['load_average'][0]} |")
    if burst := out.get("burst"):
        s = burst.get("done")
        pr = burst["profile_runs"]
        lines.append(f"| {burst['datasets']} datasets dropped at once → all dashboards | {s if s is not None else 'not within the timeout'} s "
                     f"(ingested {burst.get('ingested')} s; every run done {burst.get('all_runs_done')} s; {pr['count']} report runs: median queue "
                     f"{pr['median_queue_seconds']} s, launch {pr['median_launch_seconds']} s (spawn {pr.get('median_spawn_seconds')} s, code load "
                     f"{pr.get('median_code_load_seconds')} s), run {pr['median_run_seconds']} s) | "
                     f"{verdict(s, TARGETS['burst'])} | – | – | {burst['load_average'][0]} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

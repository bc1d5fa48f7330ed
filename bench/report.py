"""Results JSON → docs/BENCHMARKS.md (and a short console summary)."""

from __future__ import annotations

from typing import Any


def _f(value: Any, digits: int = 1, suffix: str = "") -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{suffix}"
    if isinstance(value, int):
        return f"{value:,}{suffix}"
    return f"{value}{suffix}"


def _mb(n: int | None) -> str:
    return "–" if not n else f"{n / 1e6:,.0f} MB" if n >= 1e6 else f"{n / 1e3:,.0f} kB"


def _na(stage: dict | None) -> str | None:
    if stage is None:
        return "not run"
    if stage.get("available") is False:
        return f"not available ({stage.get('reason', '')})"
    return None


def _peak(rss: dict | None) -> str:
    if not rss:
        return "–"
    name, mib = max(rss.items(), key=lambda kv: kv[1])
    return f"{mib:,.0f} MiB ({name})"


def render(results: dict) -> str:
    m = results["machine"]
    v = m.get("versions", {})
    lines = [
        "# Benchmarks",
        "",
        "Measured by the harness in `bench/` (`python -m bench --scales 1,10`, see `bench/README.md`); this",
        "file is rewritten by each run. Raw numbers: `bench/results/*.json` (not committed).",
        "",
        "## Machine",
        "",
        f"- {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB RAM, {m['filesystem']}, {m['os']}",
        f"- Python {m['python']}, DuckDB {v.get('duckdb')}, Dagster {v.get('dagster')}, dagster-dbt {v.get('dagster-dbt')}, "
        f"dbt-core {v.get('dbt-core')}, dbt-duckdb {v.get('dbt-duckdb')}",
        f"- commit {m['commit']}, run {results['started']} → {results.get('finished', 'unfinished')}",
        f"- load average at start {m.get('load_average_at_start')}, at end {m.get('load_average_at_end')} "
        "(other processes on the box make every figure noisier; compare ratios, not seconds, across runs)",
        "",
    ]
    scales = results.get("scales", {})
    carried = [f"scale {n} {stage} ({s[stage]['measured']})" for n, s in scales.items() for stage in ("ingest", "build", "incremental", "latency")
               if isinstance(s.get(stage), dict) and s[stage].get("measured")]
    carried += [f"scale {n} (all stages, {s['measured']})" for n, s in scales.items() if s.get("measured")]
    if (results.get("overhead") or {}).get("measured"):
        carried.insert(0, f"fixed overhead, scale {results['overhead']['scale']:g} ({results['overhead']['measured']})")
    if carried:
        lines += [f"Carried over from earlier runs (not re-measured in this one): {'; '.join(carried)}.", ""]
    lines += goals(results)
    # --- ingest ----------------------------------------------------------------------------------
    lines += ["## Ingest: landing files → raw tables", "",
              "Platform = `dg.materialize([raw_tables])` (fingerprint, strict read, validation, one transaction per table "
              "with ledger rows). Floor = plain DuckDB `CREATE TABLE AS SELECT * FROM read_csv/read_parquet/read_json(<all files "
              "of the table>)` into a native DuckDB file, same files, same run; *tuned floor* = the same with the dialect and "
              "the contract's types given (no per-file sniffing). Ratio = platform throughput ÷ floor throughput (goal ≥ 0.8).",
              "",
              "| scale | files | data | rows | platform | rows/s | MB/s | floor | ratio | tuned floor | ratio | peak RSS |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, s in scales.items():
        i = s.get("ingest")
        if not i:
            continue
        p, f, t = i.get("platform", {}), i.get("floor", {}), i.get("floor_tuned", {})
        if i.get("repeat", 1) > 1:
            name = f"{name} (median of {i['repeat']})"
        lines.append(
            f"| {name} | {_f(s['data']['files'])} | {_mb(s['data']['bytes'])} | {_f(p.get('rows'))} | {_f(p.get('seconds'), 1, ' s')} | "
            f"{_f(p.get('rows_per_second'))} | {_f(p.get('mb_per_second'), 1)} | {_f(f.get('seconds'), 1, ' s')} | "
            f"{_f(i.get('ratio_vs_floor'), 2, '×')} | {_f(t.get('seconds'), 1, ' s')} | {_f(i.get('ratio_vs_floor_tuned'), 2, '×')} | "
            f"{_peak(p.get('peak_rss_mib'))} |")
    lines += ["", "Where the ingestion step's time goes (wall time inside each loader function, instrumented run):", ""]
    for name, s in scales.items():
        phases = (s.get("ingest") or {}).get("platform", {}).get("phases")
        if not phases:
            continue
        total = (s["ingest"]["platform"].get("step_seconds") or 0) or 1
        parts = ", ".join(f"{k.strip()} {val:.2f} s ({100 * val / total:.0f}%)" for k, val in phases.items() if val >= 0.01)
        lines.append(f"- scale {name} (step {total:.1f} s, run {s['ingest']['platform'].get('seconds', 0):.1f} s): {parts}")
    # --- build -----------------------------------------------------------------------------------
    lines += ["", "## Cold build: everything from a clean state", "",
              "Platform = `run_everything` (ingestion, `dbt build`, ML, reports) on a fresh warehouse and Dagster instance; step "
              "times from the Dagster event log. Floor = the compiled SQL of that dbt run (models, snapshot, seeds, data tests) "
              "executed in the same order in one DuckDB connection on a native copy of the raw tables.", ""]
    rows = []
    overhead = results.get("overhead")
    for label, s in ([(f"{overhead['scale']:g} (fixed overhead)", overhead)] if overhead else []) + list(scales.items()):
        b = s.get("build")
        reason = _na(b)
        if reason:
            rows.append(f"| {label} | {reason} | | | | | | |")
            continue
        p, f = b.get("platform", {}), b.get("floor", {})
        steps = p.get("steps", {})
        rows.append(
            f"| {label} | {_f(p.get('seconds'), 1, ' s')} | {_f(steps.get('raw_tables'), 1, ' s')} | {_f(steps.get('dbt_models'), 1, ' s')} "
            f"| {_f(b.get('dbt_elapsed_seconds'), 1, ' s')} | {_f(f.get('seconds'), 1, ' s')} | {_f(b.get('ratio_dbt_step_vs_floor'), 2, '×')} "
            f"| {_peak(p.get('peak_rss_mib'))} |")
    if rows:
        lines += ["| scale | total | ingestion step | dbt step | dbt's own elapsed | floor (same SQL) | ratio | peak RSS |",
                  "|---|---|---|---|---|---|---|---|", *rows, ""]
    for label, s in ([(f"{overhead['scale']:g}", overhead)] if overhead else []) + list(scales.items()):
        b = s.get("build") or {}
        steps = b.get("platform", {}).get("steps")
        if steps:
            top = sorted(steps.items(), key=lambda kv: -kv[1])
            lines.append(f"- scale {label}, per step: " + ", ".join(f"`{k}` {val:.1f} s" for k, val in top))
            kinds = b["platform"].get("dbt_by_kind", {}).get("by_kind", {})
            if kinds:
                lines.append("  dbt nodes: " + ", ".join(f"{k} ×{e['nodes']} {e['seconds']:.1f} s" for k, e in kinds.items()))
            if b.get("platform", {}).get("failed_steps"):
                lines.append(f"  not successful: {', '.join(b['platform']['failed_steps'])}")
    # --- incremental -----------------------------------------------------------------------------
    lines += ["", "## Incremental: one more day of files", "",
              "The held-back day lands on the built warehouse and is handled the way the running platform does it, in one "
              "process (no daemon launch latency): the real landing sensor's run (load + the dbt models above), then every "
              "run declarative automation requests, until it requests nothing. The churn model retrains on its own schedule, "
              "not per day (it is in the list only if automation asked for it). dbt runs with the project's settings "
              "(look-back margin 0: each incremental model takes the keys loaded after its watermark).", "",
              "| scale | files | platform | fraction of cold | landing run (load + dbt) | dbt step | ingestion step | then automation ran |",
              "|---|---|---|---|---|---|---|---|"]
    node_lines: list[str] = []
    for name, s in scales.items():
        inc = s.get("incremental")
        reason = _na(inc)
        if reason:
            lines.append(f"| {name} | {reason} | | | | | | |")
            continue
        p = inc.get("platform", {})
        steps = p.get("steps", {})
        rounds = "; ".join(", ".join(r) for r in p.get("automation_rounds", [])) or "nothing"
        lines.append(f"| {name} | {s['data']['incremental_files']} | {_f(p.get('seconds'), 1, ' s')} | {_f(inc.get('fraction_of_cold'), 2)} "
                     f"| {_f(p.get('landing_run_seconds'), 1, ' s')} | {_f(steps.get('dbt_models'), 1, ' s')} "
                     f"| {_f(steps.get('raw_tables'), 1, ' s')} | {rounds} |")
        kinds = (p.get("dbt_by_kind") or {}).get("by_kind", {})
        if kinds:
            node_lines.append(f"- scale {name}, dbt nodes: " + ", ".join(f"{k} ×{e['nodes']} {e['seconds']:.1f} s" for k, e in kinds.items()))
    if node_lines:
        lines += ["", *node_lines]
    # --- latency ---------------------------------------------------------------------------------
    lines += ["", f"## Latency: file dropped → mart refreshed (`dagster dev`, goal ≤ {LATENCY_GOAL_SECONDS:g} s)", "",
              "Seconds after the day's files were renamed into the landing folder. *Ingested*: the ledger lists them; *mart "
              "refreshed*: `marts.fct_orders` has grown; *all runs done*: the last run ended "
              "(no run active for the next 20 s, longer than an automation tick).", "",
              "| scale | ingested | mart refreshed | all runs done | UI ready | listening on | clean shutdown | peak RSS |",
              "|---|---|---|---|---|---|---|---|"]
    breakdown = []
    for name, s in scales.items():
        lat = s.get("latency")
        reason = _na(lat)
        if reason or lat.get("error"):
            lines.append(f"| {name} | {reason or 'failed: ' + lat['error'][:120].replace('|', '/')} | | | | | | |")
            continue
        lines.append(f"| {name} | {_f(lat.get('ingested'), 1, ' s')} | {_f(lat.get('mart_refreshed'), 1, ' s')} | "
                     f"{_f(lat.get('all_runs_done'), 1, ' s')} | {_f(lat.get('ui_ready_seconds'), 0, ' s')} | "
                     f"{', '.join(lat.get('listening_on', []))} | {'yes' if lat.get('shutdown', {}).get('clean') else 'no'} | "
                     f"{_peak(lat.get('peak_rss_mib'))} |")
        for run in lat.get("runs", []):
            trigger = run["tags"].get("dagster/sensor_name") or run["tags"].get("dagster/automation_condition") or "?"
            queued = (run["started"] - run["created"]) if run.get("started") is not None else None
            took = (run["ended"] - run["started"]) if run.get("ended") is not None and run.get("started") is not None else None
            breakdown.append(f"- scale {name}: run by `{trigger}` ({', '.join(run['assets'][:3])}, …) created +{run['created']:.1f} s, "
                             f"launch {_f(queued, 1, ' s')} (created → started), ran {_f(took, 1, ' s')}, ended +{_f(run.get('ended'), 1)} s, {run['status']}")
            if run.get("launch_events"):
                breakdown.append("  - launch: " + ", ".join(f"{k} +{v:.1f}" for k, v in run["launch_events"].items()))
            if run.get("steps"):
                breakdown.append("  - steps: " + ", ".join(f"`{k}` {v:.1f} s" for k, v in sorted(run["steps"].items(), key=lambda kv: -kv[1])))
    if breakdown:
        lines += ["", "Runs after the drop:", "", *breakdown]
    # --- memory and disk -------------------------------------------------------------------------
    lines += ["", "## Memory and disk", "", "| scale | stage | process | peak RSS |", "|---|---|---|---|"]
    for name, s in scales.items():
        for stage, key in (("ingest", ("ingest", "platform")), ("ingest floor", ("ingest", "floor")), ("cold build", ("build", "platform")),
                           ("build floor", ("build", "floor")), ("incremental", ("incremental", "platform")), ("latency", ("latency",))):
            node = s.get(key[0]) or {}
            for k in key[1:]:
                node = node.get(k) or {}
            peaks = {p: m for p, m in (node.get("peak_rss_mib") or {}).items() if m >= 50 and p != "largest child (getrusage)"}
            for proc, mib in sorted(peaks.items(), key=lambda kv: -kv[1])[:6]:
                lines.append(f"| {name} | {stage} | `{proc}` | {mib:,.0f} MiB |")
    lines += ["", "| scale | landing files | warehouse (catalog + Parquet) | whole state folder |", "|---|---|---|---|"]
    for name, s in scales.items():
        z = s.get("sizes", {})
        lines.append(f"| {name} | {_mb(z.get('landing_bytes'))} | {_mb(z.get('warehouse_bytes'))} | {_mb(z.get('state_bytes'))} |")
    return "\n".join(lines) + "\n"


LATENCY_GOAL_SECONDS = 15.0  # file dropped → fct_orders refreshed
OVERHEAD_GOAL_SECONDS = 12.0  # the whole graph on tiny data
DAY_GOAL_SHARE_OF_COLD = 0.05  # one more day ≤ fixed overhead + 5 % of the cold build


def goals(results: dict) -> list[str]:
    """The three goals of the core loop (issue 16), met or missed in this run."""
    rows = []
    overhead = ((results.get("overhead") or {}).get("build") or {}).get("platform", {}).get("seconds")
    if overhead is not None:
        rows.append(("whole graph on tiny data (fixed overhead)", f"≤ {OVERHEAD_GOAL_SECONDS:g} s", _f(overhead, 1, " s"),
                     overhead <= OVERHEAD_GOAL_SECONDS))
    for name, s in results.get("scales", {}).items():
        lat = s.get("latency") or {}
        if lat.get("mart_refreshed") is not None:
            rows.append((f"scale {name}: file dropped → `fct_orders` refreshed", f"≤ {LATENCY_GOAL_SECONDS:g} s",
                         _f(lat["mart_refreshed"], 1, " s"), lat["mart_refreshed"] <= LATENCY_GOAL_SECONDS))
        day = ((s.get("incremental") or {}).get("platform") or {}).get("seconds")
        cold = ((s.get("build") or {}).get("platform") or {}).get("seconds")
        if None not in (day, cold, overhead):
            limit = overhead + DAY_GOAL_SHARE_OF_COLD * cold
            rows.append((f"scale {name}: one more day, everything refreshed",
                         f"≤ {_f(limit, 1, ' s')} ({_f(overhead, 1)} + {DAY_GOAL_SHARE_OF_COLD:.0%} of cold {_f(cold, 1)})",
                         f"{_f(day, 1, ' s')} ({_f(day / cold, 2)} of cold)", day <= limit))
    if not rows:
        return []
    lines = ["## Goals of the core loop", "", "| goal | target | this run | |", "|---|---|---|---|"]
    lines += [f"| {what} | {target} | {got} | {'met' if ok else '**missed**'} |" for what, target, got, ok in rows]
    return [*lines, ""]


def summary(results: dict) -> str:
    out = []
    for name, s in results.get("scales", {}).items():
        i = s.get("ingest") or {}
        b = s.get("build") or {}
        inc = s.get("incremental") or {}
        lat = s.get("latency") or {}
        out.append(
            f"scale {name}: ingest {_f(i.get('platform', {}).get('seconds'), 1, ' s')} "
            f"(×{_f(i.get('ratio_vs_floor'), 2)} of floor, ×{_f(i.get('ratio_vs_floor_tuned'), 2)} of tuned floor); "
            f"cold build {_na(b) or _f(b.get('platform', {}).get('seconds'), 1, ' s')}; "
            f"incremental {_na(inc) or _f(inc.get('fraction_of_cold'), 2)} of cold; "
            f"latency {_na(lat) or _f(lat.get('mart_refreshed'), 1, ' s')}")
    return "\n".join(out)

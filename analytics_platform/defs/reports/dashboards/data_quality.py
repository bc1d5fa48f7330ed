"""The data-quality report: check results, quarantined files and ingestion volume on one page.

Check results come from the Dagster instance (see ``checks.py``); quarantine and volume from the
warehouse's ``meta`` tables, aggregated in SQL (a few hundred numbers, whatever the data size).
"""

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import duckdb

from analytics_platform.defs.ingestion.checks import raw_asset_key
from analytics_platform.defs.ingestion.contracts import load_contracts
from analytics_platform.defs.quality.alerts import alerts_source
from analytics_platform.defs.reports.dashboards import checks
from analytics_platform.defs.reports.dashboards.common import (
    GROUP,
    KEY_PREFIX,
    OWNERS,
    TAGS,
    existing_tables,
    kpi_markdown,
    publish,
    read_warehouse,
    refresh_when_upstream_changes,
)
from analytics_platform.defs.reports.dashboards.figures import daily_axis, figure
from analytics_platform.defs.reports.dashboards.formatting import number
from analytics_platform.defs.reports.page import BAD, GOOD, MUTED, WARN, Chart, Empty, Kpi, Page, Section, Table, badge
from analytics_platform.defs.transform.assets import dbt_models
from analytics_platform.resources import WarehouseResource
from analytics_platform.settings import Settings

FILE_NAME = "data_quality_report.html"
RECENT_QUARANTINE = 50
RECENT_ALERTS = 30
TABLE_NAME = "replace(replace(coalesce(target_table, '(no contract)'), '\"', ''), 'raw.', '')"


def delivery_day(fallback: str) -> str:
    """SQL: the delivery day of a landed file, the date in its name (orders_2026-01-05.csv), else ``fallback``'s day."""
    return (r"coalesce(try_strptime(nullif(regexp_extract(source_file, '(\d{4}-\d{2}-\d{2})', 1), ''), '%Y-%m-%d')::DATE, "
            f"CAST({fallback} AS DATE))")


@dataclass
class WarehouseFacts:
    ledger_tables: list[tuple] = field(default_factory=list)  # table, files, rows, corrected, last loaded
    volume: list[tuple] = field(default_factory=list)  # day, table, rows, files
    quarantine_daily: list[tuple] = field(default_factory=list)  # day, reason_code, files
    quarantine_recent: list[tuple] = field(default_factory=list)
    quarantine_by_reason: list[tuple] = field(default_factory=list)  # reason_code, files
    quarantine_delivered: list[tuple] = field(default_factory=list)  # delivery day, files
    alerts_recent: list[tuple] = field(default_factory=list)
    alerts_7d: int | None = None
    has_meta: bool = False


def warehouse_facts(con: duckdb.DuckDBPyConnection, now: dt.datetime, settings: Settings) -> WarehouseFacts:
    facts = WarehouseFacts()
    meta = existing_tables(con, "meta")
    if "ingest_ledger" in meta:
        facts.has_meta = True
        facts.ledger_tables = con.execute(f"""
            SELECT {TABLE_NAME} AS t, count(*) FILTER (WHERE status = 'loaded'), coalesce(sum(rows_loaded) FILTER (WHERE status = 'loaded'), 0),
                   count(*) FILTER (WHERE version > 1), max(loaded_at)
            FROM meta.ingest_ledger GROUP BY t ORDER BY t""").fetchall()
        facts.volume = con.execute(f"""
            SELECT {delivery_day('loaded_at')} AS day, {TABLE_NAME} AS t, sum(rows_loaded), count(*)
            FROM meta.ingest_ledger WHERE status = 'loaded' GROUP BY ALL ORDER BY day, t""").fetchall()
    if "quarantine" in meta:
        facts.has_meta = True
        facts.quarantine_daily = con.execute("""
            SELECT CAST(quarantined_at AS DATE) AS day, reason_code, count(*) FROM meta.quarantine GROUP BY ALL ORDER BY day, reason_code
        """).fetchall()
        facts.quarantine_delivered = con.execute(
            f"SELECT {delivery_day('quarantined_at')} AS day, count(*) FROM meta.quarantine GROUP BY ALL ORDER BY day").fetchall()
        facts.quarantine_by_reason = con.execute(
            "SELECT reason_code, count(*) AS n FROM meta.quarantine GROUP BY ALL ORDER BY n DESC, reason_code").fetchall()
        facts.quarantine_recent = con.execute(f"""
            SELECT quarantined_at, source_file, {TABLE_NAME}, reason_code, reason FROM meta.quarantine
            ORDER BY quarantined_at DESC, source_file LIMIT {RECENT_QUARANTINE}""").fetchall()
    if alerts := alerts_source(settings):
        facts.alerts_recent = con.execute(f"""
            SELECT created_at, severity, kind, title, message FROM {alerts} ORDER BY created_at DESC LIMIT {RECENT_ALERTS}
        """).fetchall()
        facts.alerts_7d = con.execute(
            f"SELECT count(*) FROM {alerts} WHERE created_at >= ?", [now.replace(tzinfo=None) - dt.timedelta(days=7)]
        ).fetchone()[0]
    return facts


# --- page ------------------------------------------------------------------------------------


def _kpis(facts: WarehouseFacts, statuses: list[checks.CheckStatus]) -> list[Kpi]:
    counts = Counter(s.status for s in statuses)
    failing = counts["failed"] + counts["execution failed"]
    quarantined = sum(n for _, n in facts.quarantine_by_reason)
    kpis = [
        Kpi("Checks passing", f"{counts['passed']:,} / {len(statuses):,}" if statuses else "–"),
        Kpi("Checks failing (error)", f"{failing:,}", status="bad" if failing else None),
        Kpi("Checks warning", f"{counts['warning']:,}", status="warn" if counts["warning"] else None),
        Kpi("Files loaded", number(sum(r[1] for r in facts.ledger_tables))),
        Kpi("Rows loaded", number(sum(r[2] or 0 for r in facts.ledger_tables))),
        Kpi("Files quarantined", f"{quarantined:,}", status="bad" if quarantined else None),
        Kpi("Corrected re-deliveries", f"{sum(r[3] for r in facts.ledger_tables):,}"),
    ]
    if facts.alerts_7d is not None:
        kpis.append(Kpi("Alerts, last 7 days", f"{facts.alerts_7d:,}", status="warn" if facts.alerts_7d else None))
    return kpis


def _checks_by_group_chart(statuses: list[checks.CheckStatus]) -> Chart:
    groups = sorted({s.group for s in statuses})
    fig = figure("Latest result of each check, by layer", barmode="stack", hovermode="y unified",
                 height=max(220, 90 + 42 * len(groups)))
    for label, kinds, color in (("passed", {"passed"}, GOOD), ("warning", {"warn"}, WARN), ("failed", {"failed"}, BAD),
                                ("not evaluated", {"other"}, MUTED)):
        fig.add_bar(y=groups, x=[sum(1 for s in statuses if s.group == g and s.kind in kinds) for g in groups],
                    name=label, orientation="h", marker_color=color)
    return Chart(fig)


def _history_chart(days: list[checks.CheckDay]) -> Chart:
    fig = figure(f"Check evaluations per day (last {checks.HISTORY_DAYS} days)", barmode="stack")
    x = [d.day.isoformat() for d in days]
    fig.add_bar(x=x, y=[d.passed for d in days], name="passed", marker_color=GOOD)
    fig.add_bar(x=x, y=[d.warned for d in days], name="failed (warn)", marker_color=WARN)
    fig.add_bar(x=x, y=[d.failed for d in days], name="failed (error)", marker_color=BAD)
    daily_axis(fig, (days[-1].day - days[0].day).days + 1)
    return Chart(fig)


def _quarantine_chart(facts: WarehouseFacts) -> Chart:
    fig = figure("Files quarantined per day, by reason", barmode="stack")
    for code in sorted({r[1] for r in facts.quarantine_daily}):
        rows = [r for r in facts.quarantine_daily if r[1] == code]
        fig.add_bar(x=[r[0].isoformat() for r in rows], y=[r[2] for r in rows], name=code)
    daily_axis(fig, (facts.quarantine_daily[-1][0] - facts.quarantine_daily[0][0]).days + 1)
    return Chart(fig, note="Day the file was quarantined. Each file's reason is beside it in the quarantine folder.")


def _volume_chart(facts: WarehouseFacts) -> Chart:
    """One line per table on a log scale (tables differ by orders of magnitude); a day without a
    file is a gap in its line, so a missing delivery shows."""
    first, last = facts.volume[0][0], facts.volume[-1][0]
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    fig = figure("Rows loaded per delivery day, by table (log scale)", height=400, hovermode="x unified")
    for table in sorted({r[1] for r in facts.volume}):
        rows = {r[0]: r[2] for r in facts.volume if r[1] == table}
        fig.add_scatter(x=[d.isoformat() for d in days], y=[rows.get(d) for d in days], name=table, mode="lines+markers",
                        marker={"size": 3}, line={"width": 1.4}, connectgaps=False)
    daily_axis(fig, len(days))
    fig.update_yaxes(type="log", dtick=1, title_text="rows")
    return Chart(fig, wide=True, note="Current file versions. The delivery day is the date in the file name (else the load day); "
                 "a gap in a line is a day without a file for that table.")


def _files_chart(facts: WarehouseFacts) -> Chart:
    days = sorted({r[0] for r in facts.volume})
    files = Counter()
    for day, _, _, n in facts.volume:
        files[day] += n
    rejected = Counter(dict(facts.quarantine_delivered))
    all_days = sorted(set(days) | set(rejected))
    fig = figure("Files per delivery day: loaded vs quarantined", barmode="stack")
    fig.add_bar(x=[d.isoformat() for d in all_days], y=[files[d] for d in all_days], name="loaded", marker_color=GOOD)
    fig.add_bar(x=[d.isoformat() for d in all_days], y=[rejected[d] for d in all_days], name="quarantined", marker_color=BAD)
    daily_axis(fig, (all_days[-1] - all_days[0]).days + 1)
    return Chart(fig)


def _when(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if isinstance(value, (dt.datetime, dt.date)) else ("" if value is None else str(value))


def build_page(facts: WarehouseFacts, statuses: list[checks.CheckStatus], days: list[checks.CheckDay], now: dt.datetime) -> Page:
    kpis = _kpis(facts, statuses)
    check_blocks: list = []
    if statuses:
        check_blocks.append(_checks_by_group_chart(statuses))
        check_blocks.append(_history_chart(days) if days else Empty("No check evaluations in the event log yet."))
        check_blocks.append(Table(
            ["status", "asset", "check", "layer", "severity", "evaluated (UTC)", "run", "description"],
            [[badge(s.status, s.kind), s.asset, s.check, s.group, (s.severity or "") if s.kind != "passed" else "", _when(s.evaluated_at), (s.run_id or "")[:8],
              s.description or ""] for s in statuses],
            html_columns=(0,), wrap_columns=(7,),
        ))
    else:
        check_blocks.append(Empty("No asset check has run yet: checks appear here after the first ingestion or dbt run."))

    ingest_blocks: list = []
    if facts.volume:
        ingest_blocks += [_volume_chart(facts), _files_chart(facts)]
        ingest_blocks.append(Table(
            ["table", "files (current)", "rows", "corrected versions", "last load (UTC)"],
            [[t, f"{files:,}", f"{rows or 0:,}", f"{corrected:,}", _when(last)] for t, files, rows, corrected, last in facts.ledger_tables],
            numeric=[False, True, True, True, False],
        ))
    else:
        ingest_blocks.append(Empty("Nothing ingested yet: drop files into the landing folder (see the README)."))

    quarantine_blocks: list = []
    if facts.quarantine_daily:
        quarantine_blocks.append(_quarantine_chart(facts))
        quarantine_blocks.append(Table(
            ["quarantined (UTC)", "file", "table", "reason code", "reason"],
            [[_when(r[0]), r[1], r[2], r[3], r[4]] for r in facts.quarantine_recent],
            wrap_columns=(4,),
        ))
    else:
        quarantine_blocks.append(Empty("No file has been quarantined."))

    sections = [
        Section("Summary", kpis=kpis),
        Section("Check results", check_blocks,
                lead="Latest evaluation of every asset check (ingestion contracts, dbt tests, metric thresholds), failures first."),
        Section("Ingestion volume", ingest_blocks, lead="What the landing folder delivered, from the ingestion ledger."),
        Section("Quarantined files", quarantine_blocks,
                lead=f"Rejected files with their reason (latest {RECENT_QUARANTINE}); they wait in the quarantine folder for a fixed copy."),
    ]
    if facts.alerts_recent:
        sections.append(Section("Recent alerts", [Table(
            ["created (UTC)", "severity", "kind", "title", "message"],
            [[_when(a[0]), a[1], a[2], a[3], a[4]] for a in facts.alerts_recent], wrap_columns=(4,),
        )]))
    return Page("Data quality", f"Checks, quarantine and ingestion volume as of {now:%Y-%m-%d %H:%M} UTC.", sections,
                footer="analytics-platform · data_quality_report")


def summary_markdown(kpis: list[Kpi], statuses: list[checks.CheckStatus]) -> str:
    md = kpi_markdown(kpis)
    bad = [s for s in statuses if s.kind in ("failed", "warn")][:20]
    if bad:
        md += "\n\n**Failing checks**\n\n| asset | check | status |\n|---|---|---|\n"
        md += "\n".join(f"| `{s.asset}` | `{s.check}` | {s.status} |" for s in bad)
    return md


# --- asset -----------------------------------------------------------------------------------

# The assets whose checks a load evaluates: raw tables (contracts) and the dbt models, seeds and
# snapshot (dbt tests, metric thresholds). Depending on them, the page is refreshed once the
# landing run is over (eager waits while a dependency is in progress), with that run's checks,
# instead of mid-run beside the dbt step, competing for the cores. Not the ML assets: with short
# history they are skipped, and a run that skips them would skip this page too; their checks
# reach it at the next refresh.
CHECKED_KEYS = [*(raw_asset_key(c.name) for c in load_contracts()), *sorted(dbt_models.keys)]


@dg.asset(
    key=[KEY_PREFIX, "data_quality_report"],
    group_name=GROUP,
    deps=CHECKED_KEYS,
    owners=OWNERS,
    kinds={"html", "plotly"},
    tags=TAGS,
    description="Single-file HTML dashboard (opens offline): latest result and history of every asset check, "
    "ingestion volume per table and delivery day, quarantined files and their reasons, recent alerts. "
    "Refreshed after each load (once the raw tables and dbt models of the run are done) and hourly. "
    f"Written to `<reports_dir>/dashboards/{FILE_NAME}` (shared mode: on the object store).",
    automation_condition=refresh_when_upstream_changes()
    | (dg.AutomationCondition.cron_tick_passed("0 * * * *") & ~dg.AutomationCondition.in_progress()),
)
def data_quality_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    defined, groups = checks.defined_checks(context)
    statuses, days = checks.collect(context.instance, defined, groups, now)
    facts = read_warehouse(warehouse, lambda con: warehouse_facts(con, now, warehouse.settings), WarehouseFacts)
    page = build_page(facts, statuses, days, now)
    kpis = page.sections[0].kpis
    context.log.info(f"{len(statuses)} checks, {len(facts.volume)} volume cells, {len(facts.quarantine_recent)} quarantined files → {FILE_NAME}")
    return publish(page, warehouse.settings, FILE_NAME, started, summary_markdown(kpis, statuses), {
        "checks": len(statuses),
        "checks_failing": sum(1 for s in statuses if s.kind == "failed"),
        "files_quarantined": sum(n for _, n in facts.quarantine_by_reason),
    })


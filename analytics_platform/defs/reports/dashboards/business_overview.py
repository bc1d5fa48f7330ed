"""The business overview: KPIs, revenue with its forecast and anomalies, cohorts, funnel,
experiments and churn risk, from the marts (``lake.marts``) and the ML tables (``lake.ml``).

Every number is aggregated in SQL (a few thousand values at most, whatever the scale). A table
that does not exist yet (ML not trained, a mart not built) leaves a "not available yet" note in
its place instead of failing the page.
"""

import datetime as dt
import math
import time
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import duckdb

from analytics_platform.defs.reports.dashboards.common import (
    GROUP, KEY_PREFIX, OWNERS, TAGS, columns_of, dashboards_dir, existing_tables, kpi_markdown, publish, read_warehouse,
    refresh_when_upstream_changes,
)
from analytics_platform.defs.reports.dashboards.html import (
    BAD, MAIN, MUTED, PALETTE, WARN, CURRENCY, Chart, Empty, Kpi, Page, Section, Table, change, figure, money, number, percent,
)
from analytics_platform.resources import WarehouseResource

FILE_NAME = "business_overview.html"
WINDOW_DAYS = 28  # KPIs: the last 28 days (4 whole weeks) against the 28 before
TREND_DAYS = 180  # revenue chart: at most this much history before the forecast
MARTS = ("fct_daily_revenue", "customer_cohorts", "funnel_daily", "experiment_outcomes")
ML = ("revenue_forecast", "metric_anomalies", "experiment_results", "churn_scores")
# What the page reads, per table (tested against the dbt models' .yml and the ML column docs, so a
# renamed column fails a test instead of a chart)
COLUMNS_USED = {
    "marts.fct_daily_revenue": {"date_day", "channel", "revenue", "orders", "orders_not_cancelled", "new_customers", "sessions",
                                "converting_sessions", "ad_spend"},
    "marts.customer_cohorts": {"cohort_month", "months_since_signup", "retention_rate", "cohort_size"},
    "marts.funnel_daily": {"date_day", "channel", "sessions", "sessions_with_view", "sessions_with_add_to_cart",
                           "sessions_with_checkout", "sessions_with_purchase"},
    "marts.experiment_outcomes": {"experiment_id", "variant", "is_exposed", "converted_after_exposure", "revenue_after_exposure"},
    "ml.revenue_forecast": {"date_day", "metric", "forecast", "lower_80", "upper_80", "lower_95", "upper_95"},
    "ml.metric_anomalies": {"date_day", "metric", "value", "expected", "deviation_pct", "severity", "is_anomaly"},
    "ml.churn_scores": {"churn_probability", "risk_band", "scored_at"},
    "ml.experiment_results": {"experiment_id", "metric", "variant", "control_variant", "control_value", "variant_value",
                              "relative_lift", "ci_low", "ci_high", "p_value", "significant", "srm_detected", "verdict"},
}
SEVERITY_COLOR = {"low": WARN, "medium": "#F58518", "high": BAD, "critical": "#9E1B32"}
MAX_COHORTS = 24
CHURN_BINS = 20
MAX_EXPERIMENT_ROWS = 60
RISK_COLOR = {"low": "#54A24B", "medium": WARN, "high": BAD}


@dataclass
class Overview:
    """Everything the page draws, already aggregated."""

    marts: set[str] = field(default_factory=set)
    ml: set[str] = field(default_factory=set)
    last_day: dt.date | None = None
    kpi_now: dict[str, Any] = field(default_factory=dict)
    kpi_before: dict[str, Any] = field(default_factory=dict)
    daily: list[tuple] = field(default_factory=list)  # day, revenue, orders
    by_channel: list[tuple] = field(default_factory=list)  # week, channel, revenue
    forecast: list[tuple] = field(default_factory=list)  # day, forecast, lo80, hi80, lo95, hi95
    anomalies: list[tuple] = field(default_factory=list)  # day, metric, value, expected, severity, deviation
    cohorts: list[tuple] = field(default_factory=list)  # cohort_month, months_since, retention, size
    funnel: dict[str, int] = field(default_factory=dict)
    funnel_by_channel: list[tuple] = field(default_factory=list)  # channel, sessions, purchase sessions
    experiments: list[tuple] = field(default_factory=list)  # experiment, variant, assigned, exposed, converted, revenue
    experiment_results: list[dict[str, Any]] = field(default_factory=list)  # rows of ml.experiment_results
    churn_bins: list[tuple] = field(default_factory=list)  # bin start, band, customers
    churn_bands: dict[str, int] = field(default_factory=dict)
    churn_scored_at: Any = None


# --- queries ---------------------------------------------------------------------------------


def _kpis(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> dict[str, Any]:
    row = con.execute("""
        SELECT sum(revenue)::DOUBLE, sum(orders), sum(orders_not_cancelled), sum(new_customers), sum(sessions),
               sum(converting_sessions), sum(ad_spend)::DOUBLE
        FROM marts.fct_daily_revenue WHERE date_day BETWEEN ? AND ?""", [start, end]).fetchone()
    revenue, orders, kept, new, sessions, converting, spend = row
    return {
        "revenue": revenue, "orders": orders, "new_customers": new, "sessions": sessions,
        "aov": revenue / kept if revenue is not None and kept else None,
        "conversion": converting / sessions if sessions else None,
        "roas": revenue / spend if revenue is not None and spend else None,
    }


def _pick(columns: set[str], *names: str) -> str | None:
    return next((n for n in names if n in columns), None)


def _forecast(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    cols = columns_of(con, "ml", "revenue_forecast")
    day = _pick(cols, "date_day", "ds", "date", "day")
    point = _pick(cols, "forecast", "yhat", "predicted", "prediction", "revenue_forecast", "value")
    if not day or not point:
        return []
    bounds = [_pick(cols, *names) for names in (("lower_80", "lo_80", "yhat_lower_80"), ("upper_80", "hi_80", "yhat_upper_80"),
                                                ("lower_95", "lo_95", "yhat_lower", "lower"), ("upper_95", "hi_95", "yhat_upper", "upper"))]
    select = ", ".join([f"CAST({day} AS DATE)", f"{point}::DOUBLE"] + [f"{b}::DOUBLE" if b else "NULL" for b in bounds])
    where = "WHERE metric = 'revenue'" if "metric" in cols else ""
    return con.execute(f"SELECT {select} FROM ml.revenue_forecast {where} ORDER BY 1").fetchall()


def _anomalies(con: duckdb.DuckDBPyConnection, since: dt.date) -> list[tuple]:
    cols = columns_of(con, "ml", "metric_anomalies")
    if not {"date_day", "metric", "value"} <= cols:
        return []
    flag = "is_anomaly" if "is_anomaly" in cols else ("severity <> 'none'" if "severity" in cols else "false")
    severity = "severity" if "severity" in cols else "'high'"
    expected = "expected::DOUBLE" if "expected" in cols else "NULL"
    deviation = "deviation_pct::DOUBLE" if "deviation_pct" in cols else "NULL"
    return con.execute(f"""
        SELECT CAST(date_day AS DATE), metric, value::DOUBLE, {expected}, {severity}, {deviation}
        FROM ml.metric_anomalies WHERE {flag} AND CAST(date_day AS DATE) >= ? ORDER BY 1, 2""", [since]).fetchall()


def _experiment_results(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cur = con.execute(f"SELECT * FROM ml.experiment_results LIMIT {MAX_EXPERIMENT_ROWS}")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _churn(con: duckdb.DuckDBPyConnection, overview: Overview) -> None:
    cols = columns_of(con, "ml", "churn_scores")
    if "churn_probability" not in cols:
        return
    band = "risk_band" if "risk_band" in cols else "'all'"
    overview.churn_bins = con.execute(f"""
        SELECT least(floor(churn_probability * {CHURN_BINS}), {CHURN_BINS - 1}) / {CHURN_BINS} AS bin, {band} AS band, count(*)
        FROM ml.churn_scores WHERE churn_probability IS NOT NULL GROUP BY ALL ORDER BY bin, band""").fetchall()
    overview.churn_bands = dict(con.execute(f"SELECT {band}, count(*) FROM ml.churn_scores GROUP BY ALL").fetchall())
    if "scored_at" in cols:
        overview.churn_scored_at = con.execute("SELECT max(scored_at) FROM ml.churn_scores").fetchone()[0]


def gather(con: duckdb.DuckDBPyConnection) -> Overview:
    o = Overview(marts=existing_tables(con, "marts") & set(MARTS), ml=existing_tables(con, "ml") & set(ML))
    if "fct_daily_revenue" in o.marts:
        o.last_day = con.execute("SELECT max(date_day) FROM marts.fct_daily_revenue WHERE orders > 0").fetchone()[0]
    if o.last_day is not None:
        end = o.last_day
        o.kpi_now = _kpis(con, end - dt.timedelta(days=WINDOW_DAYS - 1), end)
        o.kpi_before = _kpis(con, end - dt.timedelta(days=2 * WINDOW_DAYS - 1), end - dt.timedelta(days=WINDOW_DAYS))
        since = end - dt.timedelta(days=TREND_DAYS - 1)
        o.daily = con.execute("""
            SELECT date_day, sum(revenue)::DOUBLE, sum(orders) FROM marts.fct_daily_revenue
            WHERE date_day BETWEEN ? AND ? GROUP BY 1 ORDER BY 1""", [since, end]).fetchall()
        # whole weeks only: a partial first or last week would read as a drop
        o.by_channel = con.execute("""
            WITH daily AS (
                SELECT CAST(date_trunc('week', date_day) AS DATE) AS week, date_day, channel, revenue
                FROM marts.fct_daily_revenue WHERE date_day BETWEEN ? AND ?
            ), whole AS (SELECT week FROM daily GROUP BY week HAVING count(DISTINCT date_day) = 7)
            SELECT week, channel, sum(revenue)::DOUBLE FROM daily JOIN whole USING (week) GROUP BY ALL ORDER BY week, channel""",
            [since, end]).fetchall()
        if "revenue_forecast" in o.ml:
            o.forecast = _forecast(con)
        if "metric_anomalies" in o.ml:
            o.anomalies = _anomalies(con, since)
    if "customer_cohorts" in o.marts:
        o.cohorts = con.execute(f"""
            WITH recent AS (SELECT DISTINCT cohort_month FROM marts.customer_cohorts ORDER BY cohort_month DESC LIMIT {MAX_COHORTS})
            SELECT c.cohort_month, c.months_since_signup, c.retention_rate::DOUBLE, c.cohort_size
            FROM marts.customer_cohorts c JOIN recent USING (cohort_month) ORDER BY 1, 2""").fetchall()
    if "funnel_daily" in o.marts:
        end = con.execute("SELECT max(date_day) FROM marts.funnel_daily").fetchone()[0]
        if end is not None:
            start = end - dt.timedelta(days=WINDOW_DAYS - 1)
            row = con.execute("""
                SELECT sum(sessions), sum(sessions_with_view), sum(sessions_with_add_to_cart), sum(sessions_with_checkout),
                       sum(sessions_with_purchase) FROM marts.funnel_daily WHERE date_day BETWEEN ? AND ?""", [start, end]).fetchone()
            o.funnel = dict(zip(("Sessions", "Viewed a product", "Added to cart", "Checked out", "Purchased"), (int(v or 0) for v in row)))
            o.funnel_by_channel = con.execute("""
                SELECT channel, sum(sessions), sum(sessions_with_purchase) FROM marts.funnel_daily
                WHERE date_day BETWEEN ? AND ? GROUP BY 1 ORDER BY 1""", [start, end]).fetchall()
    if "experiment_outcomes" in o.marts:
        o.experiments = con.execute("""
            SELECT experiment_id, variant, count(*), count(*) FILTER (WHERE is_exposed),
                   count(*) FILTER (WHERE is_exposed AND converted_after_exposure),
                   coalesce(sum(revenue_after_exposure) FILTER (WHERE is_exposed), 0)::DOUBLE
            FROM marts.experiment_outcomes GROUP BY ALL ORDER BY 1, 2""").fetchall()
    if "experiment_results" in o.ml:
        o.experiment_results = _experiment_results(con)
    if "churn_scores" in o.ml:
        _churn(con, o)
    return o


# --- page ------------------------------------------------------------------------------------


def _missing(what: str, tables: list[str]) -> Empty:
    return Empty(f"{what}: not available yet (needs {' and '.join(tables)}; materialize it in Dagster).")


def kpis(o: Overview) -> list[Kpi]:
    if not o.kpi_now:
        return []
    now, before, label = o.kpi_now, o.kpi_before, f"prev. {WINDOW_DAYS} d"
    tiles = []
    for name, key, fmt, better in (
        (f"Revenue, last {WINDOW_DAYS} days", "revenue", money, True), ("Orders", "orders", number, True),
        ("Average order value", "aov", money, True), ("New customers", "new_customers", number, True),
        ("Sessions", "sessions", number, True), ("Conversion rate", "conversion", lambda v: percent(v, 2), True),
        ("Return on ad spend", "roas", lambda v: "–" if v is None else f"{v:.2f}×", True),
    ):
        delta, trend = change(now.get(key), before.get(key), label, higher_is_better=better)
        tiles.append(Kpi(name, fmt(now.get(key)), delta, trend))
    if o.forecast:
        upcoming = [f for f in o.forecast if o.last_day is None or f[0] > o.last_day][:14]
        if upcoming:
            tiles.append(Kpi(f"Forecast revenue, next {len(upcoming)} days", money(sum(f[1] or 0 for f in upcoming))))
    if "metric_anomalies" in o.ml and o.last_day:
        recent = [a for a in o.anomalies if a[0] > o.last_day - dt.timedelta(days=WINDOW_DAYS)]
        tiles.append(Kpi(f"Anomalies, last {WINDOW_DAYS} days", f"{len(recent)}", status="warn" if recent else None))
    if o.churn_bands:
        total = sum(o.churn_bands.values())
        high = o.churn_bands.get("high", 0)
        tiles.append(Kpi("Customers at high churn risk", f"{number(high)} ({percent(high / total if total else None)})",
                         status="warn" if total and high / total > 0.2 else None))
    return tiles


def revenue_chart(o: Overview) -> Chart:
    fig = figure("Daily revenue, forecast and anomalies", height=420, yaxis={"title": {"text": "revenue"}, "tickprefix": CURRENCY})
    days = [d for d, *_ in o.daily]
    fig.add_scatter(x=days, y=[r for _, r, _ in o.daily], name="actual", mode="lines", line={"color": MAIN, "width": 1.6})
    if len(o.daily) >= 7:
        avg = [sum(r for _, r, _ in o.daily[max(0, i - 6):i + 1]) / len(o.daily[max(0, i - 6):i + 1]) for i in range(len(o.daily))]
        fig.add_scatter(x=days, y=avg, name="7-day average", mode="lines", line={"color": MUTED, "width": 1, "dash": "dot"})
    if o.forecast:
        fx = [f[0] for f in o.forecast]
        for lo, hi, name, alpha in ((4, 5, "95% interval", 0.15), (2, 3, "80% interval", 0.28)):
            if all(f[lo] is not None and f[hi] is not None for f in o.forecast):
                fig.add_scatter(x=fx + fx[::-1], y=[f[hi] for f in o.forecast] + [f[lo] for f in o.forecast][::-1],
                                fill="toself", fillcolor=f"rgba(245,133,24,{alpha})", line={"width": 0}, name=name,
                                hoverinfo="skip", mode="lines")
        fig.add_scatter(x=fx, y=[f[1] for f in o.forecast], name="forecast", mode="lines", line={"color": "#F58518", "width": 2, "dash": "dash"})
    revenue_anomalies = [a for a in o.anomalies if a[1] == "revenue"]
    if revenue_anomalies:
        fig.add_scatter(
            x=[a[0] for a in revenue_anomalies], y=[a[2] for a in revenue_anomalies], mode="markers", name="anomaly",
            marker={"size": 11, "symbol": "diamond", "color": [SEVERITY_COLOR.get(a[4], BAD) for a in revenue_anomalies],
                    "line": {"width": 1, "color": "white"}},
            text=[f"{a[4]} anomaly: expected {money(a[3])}" + (f" ({a[5] * 100:+.0f}%)" if a[5] is not None else "") for a in revenue_anomalies],
            hovertemplate="%{x|%Y-%m-%d}: €%{y:,.0f}<br>%{text}<extra></extra>",
        )
    fig.update_xaxes(type="date")
    note = []
    if not o.forecast:
        note.append("forecast: not available yet (ml/revenue_forecast)")
    if "metric_anomalies" not in o.ml:
        note.append("anomalies: not available yet (ml/metric_anomalies)")
    return Chart(fig, wide=True, note="; ".join(note) or "Revenue of non-cancelled orders by order day; the band is the forecast's prediction interval.")


def channel_chart(o: Overview) -> Chart:
    fig = figure("Weekly revenue by channel", barmode="stack", yaxis={"tickprefix": CURRENCY})
    for i, channel in enumerate(sorted({c for _, c, _ in o.by_channel})):
        rows = [r for r in o.by_channel if r[1] == channel]
        fig.add_bar(x=[r[0] for r in rows], y=[r[2] for r in rows], name=channel, marker_color=PALETTE[i % len(PALETTE)])
    fig.update_xaxes(type="date")
    return Chart(fig)


def cohort_chart(o: Overview) -> Chart:
    months = sorted({c[0] for c in o.cohorts})
    offsets = sorted({c[1] for c in o.cohorts})
    grid = {(c[0], c[1]): c[2] for c in o.cohorts}
    sizes = {c[0]: c[3] for c in o.cohorts}
    z = [[grid.get((m, k)) for k in offsets] for m in months]
    fig = figure("Cohort retention: share of sign-ups ordering in month N", height=max(300, 90 + 26 * len(months)),
                 hovermode="closest", xaxis={"title": {"text": "months since sign-up"}, "dtick": 1},
                 yaxis={"title": {"text": "sign-up month"}, "type": "category", "autorange": "reversed"})
    fig.add_heatmap(
        x=offsets, y=[f"{m:%Y-%m} (n={sizes[m]:,})" for m in months], z=z, colorscale="Blues", zmin=0,
        texttemplate="%{z:.0%}", hovertemplate="%{y}, month %{x}: %{z:.1%}<extra></extra>", colorbar={"tickformat": ".0%", "thickness": 12},
    )
    return Chart(fig, wide=True)


def funnel_chart(o: Overview) -> Chart:
    fig = figure(f"Conversion funnel, last {WINDOW_DAYS} days", hovermode="closest", margin={"l": 130})
    fig.add_funnel(y=list(o.funnel), x=list(o.funnel.values()), texttemplate="%{value:,}<br>%{percentInitial:.1%} of sessions",
                   marker={"color": [PALETTE[i] for i in range(len(o.funnel))]}, connector={"line": {"color": MUTED, "width": 1}})
    by = ", ".join(f"{c} {p / s:.1%}" for c, s, p in o.funnel_by_channel if s)
    return Chart(fig, note=f"Session conversion by channel: {by}." if by else None)


def _wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float, float]:
    if not n:
        return 0.0, 0.0, 0.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return p, centre - half, centre + half


def experiment_chart(o: Overview) -> Chart:
    """A dot per experiment × variant with its 95% interval: overlapping intervals read at a glance."""
    labels = [f"{r[0]} · {r[1]}" for r in o.experiments]
    stats = [_wilson(r[4], r[3]) for r in o.experiments]
    fig = figure("Experiments: conversion after exposure (95% interval)", height=max(240, 110 + 44 * len(labels)), hovermode="closest",
                 xaxis={"tickformat": ".1%", "title": {"text": "exposed customers who ordered afterwards"}},
                 yaxis={"type": "category", "autorange": "reversed"}, showlegend=False)
    fig.add_scatter(
        x=[s[0] for s in stats], y=labels, mode="markers", marker={"size": 12, "color": [MUTED if r[1] == "control" else MAIN for r in o.experiments]},
        error_x={"type": "data", "symmetric": False, "array": [s[2] - s[0] for s in stats], "arrayminus": [s[0] - s[1] for s in stats], "thickness": 2},
        customdata=[[r[3], r[4]] for r in o.experiments], hovertemplate="%{y}: %{x:.2%} (%{customdata[1]:,} of %{customdata[0]:,})<extra></extra>",
    )
    return Chart(fig)


def experiment_table(o: Overview) -> Table:
    rows = []
    control = {r[0]: r for r in o.experiments if r[1] == "control"}
    for exp, variant, assigned, exposed, converted, revenue in o.experiments:
        p, lo, hi = _wilson(converted, exposed)
        base = control.get(exp)
        lift = ""
        if base is not None and variant != "control" and base[3] and base[4]:
            lift = f"{(p / (base[4] / base[3]) - 1) * 100:+.1f}%"
        rows.append([exp, variant, f"{assigned:,}", f"{exposed:,}", f"{converted:,}", f"{p:.2%} [{lo:.2%}, {hi:.2%}]", lift,
                     money(revenue / exposed if exposed else None)])
    return Table(["experiment", "variant", "assigned", "exposed", "converted", "conversion [95% CI]", "lift vs control", "revenue / exposed"],
                 rows, numeric=[False, False, True, True, True, True, True, True])


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else (f"{value:.4g}" if abs(value) < 1000 else f"{value:,.0f}")
    if isinstance(value, (dt.datetime, dt.date)):
        return f"{value:%Y-%m-%d %H:%M}" if isinstance(value, dt.datetime) else value.isoformat()
    return "" if value is None else str(value)


def _lift_label(r: dict[str, Any], several_variants: bool) -> str:
    label = f"{r.get('experiment_id', '?')} · {r.get('metric', '?')}"
    return f"{label} · {r['variant']}" if several_variants and r.get("variant") else label


def lift_chart(o: Overview) -> Chart | None:
    """Relative lift of each variant over its control with the 95% interval (ml.experiment_results)."""
    rows = [r for r in o.experiment_results if r.get("relative_lift") is not None]
    if not rows or not {"ci_low", "ci_high"} <= set(rows[0]):
        return None
    several = len({r.get("variant") for r in rows}) > 1
    labels = [_lift_label(r, several) for r in rows]
    colors = [(MAIN if r["relative_lift"] > 0 else BAD) if r.get("significant") else MUTED for r in rows]
    fig = figure("Experiments: relative lift vs control (95% interval)", height=max(240, 110 + 44 * len(rows)), hovermode="closest",
                 xaxis={"tickformat": "+.0%", "zeroline": True, "zerolinewidth": 2, "title": {"text": "lift over control"}},
                 yaxis={"type": "category", "autorange": "reversed"}, showlegend=False)
    fig.add_scatter(
        x=[r["relative_lift"] for r in rows], y=labels, mode="markers", marker={"size": 12, "color": colors, "symbol": "diamond"},
        error_x={"type": "data", "symmetric": False, "thickness": 2,
                 "array": [(r["ci_high"] - r["relative_lift"]) if r["ci_high"] is not None else 0 for r in rows],
                 "arrayminus": [(r["relative_lift"] - r["ci_low"]) if r["ci_low"] is not None else 0 for r in rows]},
        customdata=[[_cell(r.get("p_value")), str(r.get("verdict") or "")] for r in rows],
        hovertemplate="%{y}: %{x:+.1%}<br>p = %{customdata[0]}<br>%{customdata[1]}<extra></extra>",
    )
    return Chart(fig, note="Coloured when significant (p < 0.05); grey when not. From ml.experiment_results.")


def ml_experiment_table(o: Overview) -> Table:
    rows = o.experiment_results
    if rows and "relative_lift" in rows[0]:
        def interval(r):
            lo, hi = r.get("ci_low"), r.get("ci_high")
            return f"{r['relative_lift']:+.1%}" + (f" [{lo:+.1%}, {hi:+.1%}]" if lo is not None and hi is not None else "")
        return Table(
            ["experiment", "metric", "variant vs control", "control", "variant", "lift [95% CI]", "p-value", "sample ratio", "verdict"],
            [[r.get("experiment_id"), r.get("metric"), f"{r.get('variant', '')} vs {r.get('control_variant', '')}",
              _cell(r.get("control_value")), _cell(r.get("variant_value")), interval(r), _cell(r.get("p_value")),
              "mismatch!" if r.get("srm_detected") else "ok", r.get("verdict") or ""] for r in rows],
            numeric=[False, False, False, True, True, True, True, False, False], wrap_columns=(8,),
        )
    columns = list(rows[0]) if rows else []
    return Table(columns, [[_cell(r[c]) for c in columns] for r in rows])


def churn_chart(o: Overview) -> Chart:
    fig = figure("Churn risk: customers by predicted probability", barmode="stack", hovermode="closest",
                 xaxis={"title": {"text": "probability of churning in the next 30 days"}, "tickformat": ".0%", "range": [0, 1]},
                 yaxis={"title": {"text": "customers"}}, bargap=0.05, legend={"y": -0.3})
    for band in sorted({b for _, b, _ in o.churn_bins}, key=lambda b: ["low", "medium", "high"].index(b) if b in RISK_COLOR else 9):
        rows = [r for r in o.churn_bins if r[1] == band]
        fig.add_bar(x=[r[0] + 0.5 / CHURN_BINS for r in rows], y=[r[2] for r in rows], width=1 / CHURN_BINS, name=f"{band} risk",
                    marker_color=RISK_COLOR.get(band, MAIN), hovertemplate="%{x:.0%} ± 2.5%: %{y:,} customers<extra></extra>")
    total = sum(o.churn_bands.values())
    note = ", ".join(f"{b}: {n:,} ({n / total:.1%})" for b, n in sorted(o.churn_bands.items(), key=lambda kv: str(kv[0]))) if total else ""
    if o.churn_scored_at:
        note += f" · scored {o.churn_scored_at:%Y-%m-%d %H:%M} UTC"
    return Chart(fig, note=note or None)


def build_page(o: Overview, now: dt.datetime) -> Page:
    sections = []
    period = (f"{o.last_day - dt.timedelta(days=WINDOW_DAYS - 1):%d %b} – {o.last_day:%d %b %Y}" if o.last_day else "no data yet")
    sections.append(Section("Key figures", kpis=kpis(o), lead=f"Last {WINDOW_DAYS} days of data ({period}) against the {WINDOW_DAYS} days before.",
                            blocks=[] if o.kpi_now else [_missing("Key figures", ["marts.fct_daily_revenue"])]))
    revenue: list = [revenue_chart(o), channel_chart(o)] if o.daily else [_missing("Revenue", ["marts.fct_daily_revenue"])]
    sections.append(Section("Revenue", revenue))
    customers: list = [cohort_chart(o) if o.cohorts else _missing("Cohort retention", ["marts.customer_cohorts"])]
    customers.append(churn_chart(o) if o.churn_bins else _missing("Churn risk", ["ml.churn_scores"]))
    sections.append(Section("Customers", customers))
    web: list = [funnel_chart(o) if o.funnel else _missing("Funnel", ["marts.funnel_daily"])]
    sections.append(Section("Funnel", web))
    experiments: list = []
    if o.experiments:
        experiments.append(experiment_chart(o))
    lift = lift_chart(o) if o.experiment_results else None
    if lift:
        experiments.append(lift)
    if o.experiment_results:
        experiments.append(ml_experiment_table(o))
    elif o.experiments:
        experiments.append(experiment_table(o))
    sections.append(Section("Experiments", experiments or [_missing("Experiments", ["marts.experiment_outcomes", "ml.experiment_results"])],
                            lead="Conversion of exposed customers after their first exposure, by variant (Wilson 95% intervals, "
                            "from the marts)" + ("; the lift chart and table are the readout per experiment and metric "
                                                 "(ml.experiment_results)." if o.experiment_results else ".")))
    return Page("Business overview", f"Revenue, customers, funnel and experiments · data up to {o.last_day or '–'} · "
                f"built {now:%Y-%m-%d %H:%M} UTC", sections, footer="analytics-platform · business_overview")


# --- asset -----------------------------------------------------------------------------------


@dg.asset(
    key=[KEY_PREFIX, "business_overview"],
    group_name=GROUP,
    deps=[*MARTS, *ML],
    owners=OWNERS,
    kinds={"html", "plotly"},
    tags=TAGS,
    description="Single-file HTML dashboard (opens offline): KPI tiles (last 28 days vs the 28 before), daily revenue "
    "with the forecast's prediction band and anomaly markers, weekly revenue by channel, cohort retention heatmap, "
    "churn-risk distribution, conversion funnel and experiment results. Refreshed whenever a mart or ML table it "
    f"draws is updated. Written to `<reports_dir>/dashboards/{FILE_NAME}`.",
    automation_condition=refresh_when_upstream_changes(),
)
def business_overview(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    overview = read_warehouse(warehouse, gather, Overview)
    page = build_page(overview, now)
    path = dashboards_dir(warehouse.settings) / FILE_NAME
    missing = sorted({*(f"marts.{m}" for m in set(MARTS) - overview.marts), *(f"ml.{m}" for m in set(ML) - overview.ml)})
    if missing:
        context.log.warning(f"drawn without {', '.join(missing)} (not materialized yet)")
    md = kpi_markdown(page.sections[0].kpis) if page.sections[0].kpis else "_No revenue data yet._"
    return publish(page, path, started, md, {
        "data_up_to": str(overview.last_day or ""),
        "missing_inputs": dg.MetadataValue.json(missing),
    })

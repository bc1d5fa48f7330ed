"""What ``reports/business_overview`` shows: KPI tiles, charts and tables drawn from an
``Overview`` (``business_overview_data.py``), arranged into the page (``build_page``)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from analytics_platform.defs.reports.dashboards.business_overview_data import CHURN_BINS, WINDOW_DAYS, Overview
from analytics_platform.defs.reports.dashboards.business_overview_stats import relative_lift, trailing_mean, wilson_interval
from analytics_platform.defs.reports.dashboards.figures import figure
from analytics_platform.defs.reports.dashboards.formatting import CURRENCY, change, money, number, percent
from analytics_platform.defs.reports.page import BAD, MAIN, MUTED, PALETTE, WARN, Chart, Empty, Kpi, Page, Section, Table

SEVERITY_COLOR = {"low": WARN, "medium": "#F58518", "high": BAD, "critical": "#9E1B32"}
RISK_COLOR = {"low": "#54A24B", "medium": WARN, "high": BAD}


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
        fig.add_scatter(x=days, y=trailing_mean([r for _, r, _ in o.daily], 7), name="7-day average", mode="lines",
                        line={"color": MUTED, "width": 1, "dash": "dot"})
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


def experiment_chart(o: Overview) -> Chart:
    """A dot per experiment × variant with its 95% interval: overlapping intervals read at a glance."""
    labels = [f"{r[0]} · {r[1]}" for r in o.experiments]
    stats = [wilson_interval(r[4], r[3]) for r in o.experiments]
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
        p, lo, hi = wilson_interval(converted, exposed)
        base = control.get(exp)
        lift = ""
        if base is not None and variant != "control" and base[3] and base[4]:
            lift = f"{relative_lift(p, base[4] / base[3]) * 100:+.1f}%"
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


def _experiments_section(o: Overview) -> Section:
    blocks: list = []
    if o.experiments:
        blocks.append(experiment_chart(o))
    lift = lift_chart(o) if o.experiment_results else None
    if lift:
        blocks.append(lift)
    if o.experiment_results:
        blocks.append(ml_experiment_table(o))
    elif o.experiments:
        blocks.append(experiment_table(o))
    return Section("Experiments", blocks or [_missing("Experiments", ["marts.experiment_outcomes", "ml.experiment_results"])],
                   lead="Conversion of exposed customers after their first exposure, by variant (Wilson 95% intervals, "
                   "from the marts)" + ("; the lift chart and table are the readout per experiment and metric "
                                        "(ml.experiment_results)." if o.experiment_results else "."))


def build_page(o: Overview, now: dt.datetime) -> Page:
    period = (f"{o.last_day - dt.timedelta(days=WINDOW_DAYS - 1):%d %b} – {o.last_day:%d %b %Y}" if o.last_day else "no data yet")
    key_figures = Section("Key figures", kpis=kpis(o), lead=f"Last {WINDOW_DAYS} days of data ({period}) against the {WINDOW_DAYS} days before.",
                          blocks=[] if o.kpi_now else [_missing("Key figures", ["marts.fct_daily_revenue"])])
    revenue: list = [revenue_chart(o), channel_chart(o)] if o.daily else [_missing("Revenue", ["marts.fct_daily_revenue"])]
    customers: list = [cohort_chart(o) if o.cohorts else _missing("Cohort retention", ["marts.customer_cohorts"])]
    customers.append(churn_chart(o) if o.churn_bins else _missing("Churn risk", ["ml.churn_scores"]))
    funnel: list = [funnel_chart(o) if o.funnel else _missing("Funnel", ["marts.funnel_daily"])]
    sections = [key_figures, Section("Revenue", revenue), Section("Customers", customers), Section("Funnel", funnel),
                _experiments_section(o)]
    return Page("Business overview", f"Revenue, customers, funnel and experiments · data up to {o.last_day or '–'} · "
                f"built {now:%Y-%m-%d %H:%M} UTC", sections, footer="analytics-platform · business_overview")

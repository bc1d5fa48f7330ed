"""The automatic dashboard of a dataset profile: its insights, charts and column table, laid out
as a page of the shared shell (``page.py``: one self-contained HTML file, plotly.js inlined,
light/dark following the system, fits a phone), from the stored profile alone.

Figures are plain dicts (``{"data": [...], "layout": {...}}``), rendered without plotly's
validation for speed; ``tests/reports`` validates them against plotly's schema.
"""

from __future__ import annotations

import html
from typing import Any

from analytics_platform.defs.reports.page import BAD, MAIN, MUTED, PALETTE, PLOTLY_TEMPLATE, Chart, Kpi, Notes, Page, Section, Table, esc
from analytics_platform.defs.reports.profiles.formatting import median_label, num, pct, whole

MAX_HISTOGRAMS = 16
MAX_BAR_CHARTS = 12
SECOND = PALETTE[1]
HEIGHT = 340
CARD_WIDTH = 440  # px: three cards a row on a laptop (histograms, top values)
WIDE_CARD_WIDTH = 640  # trends, correlation heatmaps: two a row at most
WIDE_SECTIONS = ("Over time", "Relationships")


def plotly_text(text: Any) -> str:
    """Text shown *inside* a chart: plotly renders labels as a subset of HTML, so data values
    and column names are entity-escaped (it displays the entities as the original characters)."""
    return html.escape(str(text), quote=False)


Figure = dict[str, Any]  # {"data": [...], "layout": {...}}: plain dicts, rendered unvalidated (fast)


def new_figure(*traces: dict[str, Any]) -> Figure:
    return {"data": list(traces), "layout": {}}


def laid_out(fig: Figure, title: str, **kwargs: Any) -> Figure:
    fig["layout"] = {
        "title": {"text": plotly_text(title), "x": 0.01, "xanchor": "left", "font": {"size": 14}},
        "template": PLOTLY_TEMPLATE, "height": HEIGHT, "autosize": True, "margin": {"l": 50, "r": 16, "t": 44, "b": 44},
        "hovermode": "closest", "hoverlabel": {"align": "left"}, "legend": {"orientation": "h", "y": -0.2},
        **fig["layout"], **kwargs,
    }
    return fig


def _span_ends(t: dict[str, Any]) -> list[str]:
    span = t.get("span") or {"first": t["periods"][0], "last": t["periods"][-1]}
    return [span["first"], span["last"]]


def trend_figure(p: dict[str, Any]) -> Figure | None:
    t, m = p.get("trend"), p.get("main_measure")
    if not t or not t["periods"]:
        return None
    fig = new_figure({"type": "bar", "x": t["periods"], "y": t["rows"], "name": "rows", "marker": {"color": MUTED}, "opacity": 0.35, "yaxis": "y2"})
    f = (t["fits"].get(m) if m else None) or {}
    if m and m in t["series"]:
        fig["data"].append({"type": "scatter", "x": t["periods"], "y": t["series"][m], "name": plotly_text(f"mean {m}"), "mode": "lines+markers",
                            "line": {"color": MAIN, "width": 2}})
        if f:
            fig["data"].append({"type": "scatter", "x": _span_ends(t), "y": [f["start"], f["end"]],
                                "name": f"{f['model']} trend (R² {f['r2']:.2f})", "mode": "lines", "line": {"color": SECOND, "dash": "dash"}})
    title = f"{'Mean ' + m if m else 'Rows'} per {t['grain']} of {t['time_column']}"
    return laid_out(fig, title, yaxis2={"overlaying": "y", "side": "right", "showgrid": False, "title": {"text": "rows"}},
                   yaxis={"title": {"text": plotly_text(f"mean {m}") if m else "rows"}, "type": "log" if f.get("model") == "exponential" else "linear"},
                   xaxis={"type": "category" if t["grain"] == "year" else "-"})


def other_trends_figure(p: dict[str, Any]) -> Figure | None:
    t, m = p.get("trend"), p.get("main_measure")
    short = set(((t or {}).get("span") or {}).get("short_series") or [])
    others = [k for k in (t or {}).get("series", {}) if k != m and k not in short]
    if not t or not others:
        return None
    fig = new_figure()
    start = t["periods"].index(_span_ends(t)[0])  # every series is indexed at the start of their common span
    for name in others:
        series = t["series"][name]
        base = series[start]
        fig["data"].append({"type": "scatter", "x": t["periods"], "y": [(v / base * 100 if v is not None and base else None) for v in series],
                            "name": plotly_text(name), "mode": "lines"})
    return laid_out(fig, f"Other measures, indexed ({_span_ends(t)[0]} = 100)", yaxis={"title": {"text": "index"}})


def correlation_figure(p: dict[str, Any]) -> Figure | None:
    c = p.get("correlations")
    if not c or len(c["columns"]) < 2:
        return None
    names = [plotly_text(n) for n in c["columns"]]
    heatmap = {
        "type": "heatmap", "z": c["matrix"], "x": names, "y": names, "zmin": -1, "zmax": 1, "zmid": 0, "colorscale": "RdBu", "reversescale": True,
        "hovertemplate": "%{y} × %{x}: r = %{z:.3f}<extra></extra>",
    }
    if len(names) <= 12:
        heatmap.update(text=[[("" if v is None else f"{v:.2f}") for v in row] for row in c["matrix"]], texttemplate="%{text}")
    size = max(HEIGHT, min(900, 40 * len(names) + 120))
    return laid_out(new_figure(heatmap), "Correlations (Pearson r)", height=size, yaxis={"autorange": "reversed"})


def scatter_figure(p: dict[str, Any]) -> Figure | None:
    s = (p.get("correlations") or {}).get("scatter")
    if not s or not s["points"]:
        return None
    xs, ys = [pt[0] for pt in s["points"]], [pt[1] for pt in s["points"]]
    fig = new_figure({"type": "scattergl", "x": xs, "y": ys, "mode": "markers", "name": "rows",
                   "marker": {"size": 5, "opacity": 0.55, "color": MAIN}})
    return laid_out(fig, f"{s['y']} vs {s['x']} (r = {s['r']:.2f}, {len(xs):,} sampled rows)",
                   xaxis={"title": {"text": plotly_text(s["x"])}}, yaxis={"title": {"text": plotly_text(s["y"])}}, showlegend=False)


def segment_figure(p: dict[str, Any]) -> Figure | None:
    s = p.get("segments")
    if not s:
        return None
    groups = s["groups"]
    fig = new_figure({
        "type": "bar", "x": [plotly_text(g["value"]) for g in groups], "y": [g["mean"] for g in groups], "marker": {"color": MAIN},
        "customdata": [g["rows"] for g in groups], "hovertemplate": "%{x}: mean %{y:.4g} (%{customdata:,} rows)<extra></extra>",
    })
    return laid_out(fig, f"Mean {s['measure']} by {s['category']} (η² = {s['eta_squared']:.2f})", showlegend=False, xaxis={"type": "category"})


def histogram_figure(col: dict[str, Any]) -> Figure | None:
    h = col.get("histogram")
    if not h:
        return None
    if h["discrete"]:
        fig = new_figure({"type": "bar", "x": h["values"], "y": h["counts"], "marker": {"color": MAIN}, "name": "rows"})
    else:
        edges = h["edges"]
        fig = new_figure({
            "type": "bar", "x": [(a + b) / 2 for a, b in zip(edges, edges[1:], strict=False)], "y": h["counts"],
            "width": [b - a for a, b in zip(edges, edges[1:], strict=False)],
            "marker": {"color": MAIN}, "name": "rows", "customdata": [[a, b] for a, b in zip(edges, edges[1:], strict=False)],
            "hovertemplate": "%{customdata[0]:.4g} – %{customdata[1]:.4g}: %{y:,}<extra></extra>",
        })
    o = col.get("outliers") or {}
    extra: dict[str, Any] = {}
    if o.get("below") or o.get("above"):
        fig["data"].append({"type": "bar", "x": [f"< {num(o['low'])}", f"> {num(o['high'])}"], "y": [o["below"], o["above"]],
                            "marker": {"color": BAD}, "name": "outliers", "xaxis": "x2"})
        extra = {"xaxis": {"domain": [0, 0.8]}, "xaxis2": {"domain": [0.84, 1], "type": "category"}}
    share = f", {pct(o['share'])} outliers" if o.get("count") else ""
    empty = col.get("null_rate") or 0
    return laid_out(fig, f"{col['name']} — median {num(col.get('median'))}{share}" + (f", {pct(empty)} empty" if empty else ""),
                   showlegend=False, bargap=0.02, **extra)


def top_values_figure(col: dict[str, Any]) -> Figure | None:
    tops = col.get("top_values")
    if not tops:
        return None
    fig = new_figure({
        "type": "bar", "orientation": "h", "x": [t["count"] for t in tops][::-1], "y": [plotly_text(str(t["value"])[:40]) for t in tops][::-1],
        "marker": {"color": SECOND}, "customdata": [t["share"] * 100 for t in tops][::-1],
        "hovertemplate": "%{y}: %{x:,} rows (%{customdata:.1f}%)<extra></extra>",
    })
    covered = sum(t["share"] for t in tops)
    return laid_out(fig, f"{col['name']} — top {len(tops)} of {col['distinct']:,} values ({pct(covered)} of rows)", showlegend=False,
                   yaxis={"type": "category"}, margin={"l": 120, "r": 16, "t": 44, "b": 40})


def completeness_figure(p: dict[str, Any]) -> Figure:
    rows = p["profiled_rows"] or 1
    names = [plotly_text(c["name"]) for c in p["columns"]]
    empty = [1 - (c["count"] or 0) / rows for c in p["columns"]]
    fig = new_figure({"type": "bar", "x": names, "y": [e * 100 for e in empty], "hovertemplate": "%{x}: %{y:.1f}% empty<extra></extra>",
                   "marker": {"color": [BAD if e >= 0.2 else MAIN for e in empty]}})
    return laid_out(fig, "Empty values by column (%)", yaxis={"range": [0, 100], "title": {"text": "% empty"}}, showlegend=False,
                   xaxis={"type": "category"})


def _kpis(p: dict[str, Any]) -> list[Kpi]:
    rows = p["profiled_rows"] or 1
    cells = sum(c["count"] or 0 for c in p["columns"])
    filled = cells / (rows * len(p["columns"])) if p["columns"] else 1
    kpis = [
        Kpi("rows" + (" (sampled)" if p.get("sampled") else ""), f"{p['rows']:,}"),
        Kpi("columns", f"{len(p['columns'])}"),
        Kpi("cells filled", pct(filled)),
        Kpi("duplicate rows", f"{max(p.get('duplicate_rows') or 0, 0):,}"),
        Kpi("row key", ", ".join(p.get("primary_key") or []) or "none"),
    ]
    if p.get("main_time"):
        info = next(c["time"] for c in p["columns"] if c["name"] == p["main_time"])
        kpis.append(Kpi(f"time span ({p['main_time']})", f"{str(info['min'])[:10]} → {str(info['max'])[:10]}"))
    return kpis


def _short(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return num(v)
    return str(v)[:19].replace("T", " ")


def columns_table(p: dict[str, Any]) -> Table:
    rows = p["profiled_rows"] or 1
    body = []
    for c in p["columns"]:
        empty = 1 - (c["count"] or 0) / rows
        info = c.get("time")
        lo = info["min"] if info else c.get("min")
        hi = info["max"] if info else c.get("max")
        if c["family"] == "integer" and not info:
            lo, hi = (whole(lo) if lo is not None else None), (whole(hi) if hi is not None else None)
        top = c.get("top_values") or []
        role = c.get("role") or ""
        body.append([
            f"<code>{esc(c['name'])}</code>", c["type"], f"{role} ({c['calendar_part']})" if c.get("calendar_part") else role, c["kind"],
            f'<span class="bar" style="width:{round(empty * 40)}px"></span> {pct(empty)}',
            f'{"" if c.get("distinct_exact", True) else "≈"}{c["distinct"]:,}', _short(lo),
            num(c.get("median")) if c.get("median") is not None else "", _short(hi),
            f"{str(top[0]['value'])[:30]} ({pct(top[0]['share'])})" if top else "",
        ])
    return Table(["column", "type", "role", "kind", "empty", "distinct", "min", median_label(p), "max", "most common"], body,
                 numeric=[False, False, False, False, True, True, True, True, True, False], html_columns=(0, 4))


def figures(p: dict[str, Any]) -> dict[str, list[Figure]]:
    sections: dict[str, list[Figure]] = {"Over time": [], "Relationships": [], "Distributions": [], "Categories": [], "Completeness": []}
    for fig in (trend_figure(p), other_trends_figure(p)):
        if fig:
            sections["Over time"].append(fig)
    for fig in (correlation_figure(p), scatter_figure(p), segment_figure(p)):
        if fig:
            sections["Relationships"].append(fig)
    measures = [c for c in p["columns"] if c["kind"] == "measure"]
    sections["Distributions"] = [f for c in measures[:MAX_HISTOGRAMS] if (f := histogram_figure(c))]
    categorical = [c for c in p["columns"] if c["kind"] in ("category", "calendar", "code", "boolean", "text", "time", "other") and c.get("top_values")]
    sections["Categories"] = [f for c in categorical[:MAX_BAR_CHARTS] if (f := top_values_figure(c))]
    sections["Completeness"] = [completeness_figure(p)]
    return sections


def build_page(p: dict[str, Any], model: dict[str, Any] | None = None) -> Page:
    """The page of a profile; ``model``: the dataset's stored model analysis, shown after the insights
    when it was trained on the profiled files (a model of earlier files is being retrained: not shown)."""
    from analytics_platform.defs.reports.dataset_models.charts import section  # it draws with this module's helpers

    model = model if model and model.get("fingerprint") == p.get("fingerprint") else None
    sections = [Section("Summary", kpis=_kpis(p)), Section("What the data says", [Notes([i["text"] for i in p["insights"]])]), section(model)]
    skipped = len([c for c in p["columns"] if c["kind"] == "measure"]) - MAX_HISTOGRAMS
    for title, figs in figures(p).items():
        if figs:
            lead = f"{skipped} more numeric columns are profiled but not charted." if title == "Distributions" and skipped > 0 else None
            sections.append(Section(title, [Chart(f) for f in figs], lead=lead,
                                    card_width=WIDE_CARD_WIDTH if title in WIDE_SECTIONS else CARD_WIDTH))
    sections.append(Section("Columns", [columns_table(p)]))
    files = ", ".join(p.get("source_files") or [])
    timing = (p.get("timings") or {}).get("total")
    return Page(f"Profile · {p['dataset']}", f"Automatic profile of `{p['table']}` · {p['profiled_at']} UTC · {files[:300]}", sections,
                footer="analytics-platform · dataset profiler" + (f" ({timing:.2f} s)" if timing else "") + " · single file, works offline")

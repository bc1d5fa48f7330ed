"""The automatic dashboard: one self-contained HTML file rendered from a profile alone.

plotly.js is inlined once (``include_plotlyjs=True`` on the first chart), so the file opens from
disk, offline, in any browser. Cards flow in a responsive grid; colours follow the reader's
``prefers-color-scheme`` (CSS variables for the page, a small script re-styles the charts, also
when the system switches theme while the page is open).
"""

from __future__ import annotations

import html
import re
from typing import Any

import plotly.io as pio

from analytics_platform.defs.reports.profiles.formatting import num, pct, whole

MAX_HISTOGRAMS = 16
MAX_BAR_CHARTS = 12
PALETTE = {"main": "#4C78A8", "second": "#F58518", "alert": "#E45756", "ok": "#54A24B", "muted": "#9D9D9D"}
HEIGHT = 340
# A small template instead of "plotly_white": copying plotly's full templates costs ~60 ms a chart.
AXIS = {"gridcolor": "#e6e8eb", "zerolinecolor": "#e6e8eb", "linecolor": "#e6e8eb", "automargin": True, "ticks": ""}
TEMPLATE = {"layout": {
    "xaxis": AXIS, "yaxis": AXIS, "colorway": ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#B279A2", "#FF9DA6", "#9D755D", "#BAB0AC"],
    "hovermode": "closest", "hoverlabel": {"align": "left"}, "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"},
}}

CSS = """
:root { color-scheme: light dark; --bg: #f6f7f9; --fg: #1d1f23; --muted: #5f6670; --card: #ffffff; --border: #e1e4e8;
        --accent: #2f6fdb; --code: #eef1f5; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #111317; --fg: #e7e9ec; --muted: #9aa3ad; --card: #1a1d22; --border: #2b3038; --accent: #6ea8fe; --code: #252a31; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1440px; margin: 0 auto; padding: clamp(10px, 2vw, 28px); }
h1 { font-size: clamp(1.3rem, 3vw, 1.9rem); margin: 0 0 4px; }
h2 { font-size: 1.1rem; margin: 28px 0 10px; }
.sub { color: var(--muted); margin: 0 0 16px; }
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
.kpi { background: var(--card); border: 1px solid var(--border); border-radius: 10px; padding: 10px 14px; }
.kpi b { display: block; font-size: 1.35rem; }
.kpi span { color: var(--muted); font-size: .85rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 440px), 1fr)); gap: 14px; }
.grid.wide { grid-template-columns: repeat(auto-fill, minmax(min(100%, 640px), 1fr)); }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 10px; padding: 8px; min-width: 0; }
ol.insights { background: var(--card); border: 1px solid var(--border); border-radius: 10px; padding: 12px 12px 12px 36px; margin: 0; }
ol.insights li { margin: 6px 0; }
code { background: var(--code); border-radius: 4px; padding: 0 4px; font-size: .92em; }
.table-wrap { overflow-x: auto; background: var(--card); border: 1px solid var(--border); border-radius: 10px; }
table { border-collapse: collapse; width: 100%; font-size: .88rem; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--border); white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.bar { display: inline-block; height: 8px; background: var(--accent); border-radius: 4px; vertical-align: middle; }
footer { color: var(--muted); font-size: .8rem; margin: 28px 0 8px; }
"""

THEME_JS = """
(function () {
  var mq = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
  function apply() {
    if (!window.Plotly) return;
    var dark = mq && mq.matches;
    var fg = dark ? '#e7e9ec' : '#1d1f23', grid = dark ? '#2f353d' : '#e6e8eb';
    document.querySelectorAll('.js-plotly-plot').forEach(function (div) {
      var update = {'font.color': fg, 'paper_bgcolor': 'rgba(0,0,0,0)', 'plot_bgcolor': 'rgba(0,0,0,0)', 'legend.bgcolor': 'rgba(0,0,0,0)'};
      Object.keys(div.layout || {}).forEach(function (k) {
        if (/^[xy]axis\\d*$/.test(k)) { update[k + '.gridcolor'] = grid; update[k + '.zerolinecolor'] = grid; update[k + '.linecolor'] = grid; }
      });
      window.Plotly.relayout(div, update);
    });
  }
  if (mq) { (mq.addEventListener ? mq.addEventListener('change', apply) : mq.addListener(apply)); }
  if (document.readyState === 'complete') apply(); else window.addEventListener('load', apply);
})();
"""


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _t(text: Any) -> str:
    """Text shown *inside* a chart: plotly renders labels as a subset of HTML, so data values
    and column names are entity-escaped (it displays the entities as the original characters)."""
    return html.escape(str(text), quote=False)


def _rich(text: str) -> str:
    """Insight text → HTML: escaped, with `identifiers` as <code>."""
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", _esc(text))


Figure = dict[str, Any]  # {"data": [...], "layout": {...}}: plain dicts, rendered unvalidated (fast)


def _figure(*traces: dict[str, Any]) -> Figure:
    return {"data": list(traces), "layout": {}}


def _layout(fig: Figure, title: str, **kwargs: Any) -> Figure:
    fig["layout"] = {
        "title": {"text": _t(title), "x": 0.01, "xanchor": "left", "font": {"size": 14}},
        "template": TEMPLATE, "height": HEIGHT, "autosize": True, "margin": {"l": 50, "r": 16, "t": 44, "b": 44},
        "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)", "font": {"size": 12},
        "legend": {"orientation": "h", "y": -0.2},
        **fig["layout"], **kwargs,
    }
    return fig


def trend_figure(p: dict[str, Any]) -> Figure | None:
    t, m = p.get("trend"), p.get("main_measure")
    if not t or not t["periods"]:
        return None
    fig = _figure({"type": "bar", "x": t["periods"], "y": t["rows"], "name": "rows", "marker": {"color": PALETTE["muted"]}, "opacity": 0.35, "yaxis": "y2"})
    f = (t["fits"].get(m) if m else None) or {}
    if m and m in t["series"]:
        fig["data"].append({"type": "scatter", "x": t["periods"], "y": t["series"][m], "name": _t(f"mean {m}"), "mode": "lines+markers",
                            "line": {"color": PALETTE["main"], "width": 2}})
        if f:
            fig["data"].append({"type": "scatter", "x": [t["periods"][0], t["periods"][-1]], "y": [f["start"], f["end"]],
                                "name": f"{f['model']} trend (R² {f['r2']:.2f})", "mode": "lines", "line": {"color": PALETTE["second"], "dash": "dash"}})
    title = f"{'Mean ' + m if m else 'Rows'} per {t['grain']} of {t['time_column']}"
    return _layout(fig, title, yaxis2={"overlaying": "y", "side": "right", "showgrid": False, "title": {"text": "rows"}},
                   yaxis={"title": {"text": _t(f"mean {m}") if m else "rows"}, "type": "log" if f.get("model") == "exponential" else "linear"},
                   xaxis={"type": "category" if t["grain"] == "year" else "-"})


def other_trends_figure(p: dict[str, Any]) -> Figure | None:
    t, m = p.get("trend"), p.get("main_measure")
    others = [k for k in (t or {}).get("series", {}) if k != m]
    if not t or not others:
        return None
    fig = _figure()
    for name in others:
        series = t["series"][name]
        base = next((v for v in series if v), None)
        fig["data"].append({"type": "scatter", "x": t["periods"], "y": [(v / base * 100 if v is not None and base else None) for v in series],
                            "name": _t(name), "mode": "lines"})
    return _layout(fig, "Other measures, indexed (first period = 100)", yaxis={"title": {"text": "index"}})


def correlation_figure(p: dict[str, Any]) -> Figure | None:
    c = p.get("correlations")
    if not c or len(c["columns"]) < 2:
        return None
    names = [_t(n) for n in c["columns"]]
    heatmap = {
        "type": "heatmap", "z": c["matrix"], "x": names, "y": names, "zmin": -1, "zmax": 1, "zmid": 0, "colorscale": "RdBu", "reversescale": True,
        "hovertemplate": "%{y} × %{x}: r = %{z:.3f}<extra></extra>",
    }
    if len(names) <= 12:
        heatmap.update(text=[[("" if v is None else f"{v:.2f}") for v in row] for row in c["matrix"]], texttemplate="%{text}")
    size = max(HEIGHT, min(900, 40 * len(names) + 120))
    return _layout(_figure(heatmap), "Correlations (Pearson r)", height=size, yaxis={"autorange": "reversed"})


def scatter_figure(p: dict[str, Any]) -> Figure | None:
    s = (p.get("correlations") or {}).get("scatter")
    if not s or not s["points"]:
        return None
    xs, ys = [pt[0] for pt in s["points"]], [pt[1] for pt in s["points"]]
    fig = _figure({"type": "scattergl", "x": xs, "y": ys, "mode": "markers", "name": "rows",
                   "marker": {"size": 5, "opacity": 0.55, "color": PALETTE["main"]}})
    return _layout(fig, f"{s['y']} vs {s['x']} (r = {s['r']:.2f}, {len(xs):,} sampled rows)",
                   xaxis={"title": {"text": _t(s["x"])}}, yaxis={"title": {"text": _t(s["y"])}}, showlegend=False)


def segment_figure(p: dict[str, Any]) -> Figure | None:
    s = p.get("segments")
    if not s:
        return None
    groups = s["groups"]
    fig = _figure({
        "type": "bar", "x": [_t(g["value"]) for g in groups], "y": [g["mean"] for g in groups], "marker": {"color": PALETTE["main"]},
        "customdata": [g["rows"] for g in groups], "hovertemplate": "%{x}: mean %{y:.4g} (%{customdata:,} rows)<extra></extra>",
    })
    return _layout(fig, f"Mean {s['measure']} by {s['category']} (η² = {s['eta_squared']:.2f})", showlegend=False, xaxis={"type": "category"})


def histogram_figure(col: dict[str, Any]) -> Figure | None:
    h = col.get("histogram")
    if not h:
        return None
    if h["discrete"]:
        fig = _figure({"type": "bar", "x": h["values"], "y": h["counts"], "marker": {"color": PALETTE["main"]}, "name": "rows"})
    else:
        edges = h["edges"]
        fig = _figure({
            "type": "bar", "x": [(a + b) / 2 for a, b in zip(edges, edges[1:])], "y": h["counts"], "width": [b - a for a, b in zip(edges, edges[1:])],
            "marker": {"color": PALETTE["main"]}, "name": "rows", "customdata": [[a, b] for a, b in zip(edges, edges[1:])],
            "hovertemplate": "%{customdata[0]:.4g} – %{customdata[1]:.4g}: %{y:,}<extra></extra>",
        })
    o = col.get("outliers") or {}
    extra: dict[str, Any] = {}
    if o.get("below") or o.get("above"):
        fig["data"].append({"type": "bar", "x": [f"< {num(o['low'])}", f"> {num(o['high'])}"], "y": [o["below"], o["above"]],
                            "marker": {"color": PALETTE["alert"]}, "name": "outliers", "xaxis": "x2"})
        extra = {"xaxis": {"domain": [0, 0.8]}, "xaxis2": {"domain": [0.84, 1], "type": "category"}}
    share = f", {pct(o['share'])} outliers" if o.get("count") else ""
    empty = col.get("null_rate") or 0
    return _layout(fig, f"{col['name']} — median {num(col.get('median'))}{share}" + (f", {pct(empty)} empty" if empty else ""),
                   showlegend=False, bargap=0.02, **extra)


def top_values_figure(col: dict[str, Any]) -> Figure | None:
    tops = col.get("top_values")
    if not tops:
        return None
    fig = _figure({
        "type": "bar", "orientation": "h", "x": [t["count"] for t in tops][::-1], "y": [_t(str(t["value"])[:40]) for t in tops][::-1],
        "marker": {"color": PALETTE["second"]}, "customdata": [t["share"] * 100 for t in tops][::-1],
        "hovertemplate": "%{y}: %{x:,} rows (%{customdata:.1f}%)<extra></extra>",
    })
    covered = sum(t["share"] for t in tops)
    return _layout(fig, f"{col['name']} — top {len(tops)} of {col['distinct']:,} values ({pct(covered)} of rows)", showlegend=False,
                   yaxis={"type": "category"}, margin={"l": 120, "r": 16, "t": 44, "b": 40})


def completeness_figure(p: dict[str, Any]) -> Figure:
    rows = p["profiled_rows"] or 1
    names = [_t(c["name"]) for c in p["columns"]]
    empty = [1 - (c["count"] or 0) / rows for c in p["columns"]]
    fig = _figure({"type": "bar", "x": names, "y": [e * 100 for e in empty], "hovertemplate": "%{x}: %{y:.1f}% empty<extra></extra>",
                   "marker": {"color": [PALETTE["alert"] if e >= 0.2 else PALETTE["main"] for e in empty]}})
    return _layout(fig, "Empty values by column (%)", yaxis={"range": [0, 100], "title": {"text": "% empty"}}, showlegend=False,
                   xaxis={"type": "category"})


def _kpis(p: dict[str, Any]) -> str:
    rows = p["profiled_rows"] or 1
    cells = sum(c["count"] or 0 for c in p["columns"])
    filled = cells / (rows * len(p["columns"])) if p["columns"] else 1
    items = [
        (f"{p['rows']:,}", "rows" + (" (sampled)" if p.get("sampled") else "")),
        (f"{len(p['columns'])}", "columns"),
        (pct(filled), "cells filled"),
        (f"{max(p.get('duplicate_rows') or 0, 0):,}", "duplicate rows"),
        (", ".join(p.get("primary_key") or []) or "none", "row key"),
    ]
    if p.get("main_time"):
        info = next(c["time"] for c in p["columns"] if c["name"] == p["main_time"])
        items.append((f"{str(info['min'])[:10]} → {str(info['max'])[:10]}", f"time span ({p['main_time']})"))
    return "".join(f'<div class="kpi"><b>{_esc(v)}</b><span>{_esc(k)}</span></div>' for v, k in items)


def _columns_table(p: dict[str, Any]) -> str:
    rows = p["profiled_rows"] or 1
    head = "<tr><th>column</th><th>type</th><th>kind</th><th>empty</th><th>distinct</th><th>min</th><th>median</th><th>max</th><th>most common</th></tr>"
    body = []
    for c in p["columns"]:
        empty = 1 - (c["count"] or 0) / rows
        info = c.get("time")
        lo = info["min"] if info else c.get("min")
        hi = info["max"] if info else c.get("max")
        if c["family"] == "integer" and not info:
            lo, hi = (whole(lo) if lo is not None else None), (whole(hi) if hi is not None else None)
        top = c.get("top_values") or []
        common = f"{str(top[0]['value'])[:30]} ({pct(top[0]['share'])})" if top else ""
        body.append(
            f"<tr><td><code>{_esc(c['name'])}</code></td><td>{_esc(c['type'])}</td><td>{_esc(c['kind'])}</td>"
            f'<td class="num"><span class="bar" style="width:{round(empty * 40)}px"></span> {pct(empty)}</td>'
            f'<td class="num">{"" if c.get("distinct_exact", True) else "≈"}{c["distinct"]:,}</td><td class="num">{_esc(_short(lo))}</td><td class="num">{_esc(num(c.get("median")) if c.get("median") is not None else "")}</td>'
            f'<td class="num">{_esc(_short(hi))}</td><td>{_esc(common)}</td></tr>'
        )
    return f'<div class="table-wrap"><table>{head}{"".join(body)}</table></div>'


def _short(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return num(v)
    return str(v)[:19].replace("T", " ")


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
    categorical = [c for c in p["columns"] if c["kind"] in ("category", "code", "boolean", "text", "time", "other") and c.get("top_values")]
    sections["Categories"] = [f for c in categorical[:MAX_BAR_CHARTS] if (f := top_values_figure(c))]
    sections["Completeness"] = [completeness_figure(p)]
    return sections


def render(p: dict[str, Any]) -> str:
    first = True
    parts: list[str] = []
    chart_count = 0
    for title, figs in figures(p).items():
        if not figs:
            continue
        cards = []
        for fig in figs:
            cards.append('<div class="card">' + pio.to_html(
                fig, validate=False, full_html=False, include_plotlyjs=first, default_width="100%",
                default_height=f"{fig['layout'].get('height', HEIGHT)}px", config={"responsive": True, "displaylogo": False},
            ) + "</div>")
            first = False
            chart_count += 1
        wide = " wide" if title in ("Over time", "Relationships") else ""
        parts.append(f"<h2>{_esc(title)}</h2><div class=\"grid{wide}\">{''.join(cards)}</div>")
    skipped = len([c for c in p["columns"] if c["kind"] == "measure"]) - MAX_HISTOGRAMS
    note = f"<p class=\"sub\">{skipped} more numeric columns are profiled but not charted.</p>" if skipped > 0 else ""
    insights = "".join(f"<li>{_rich(i['text'])}</li>" for i in p["insights"])
    files = ", ".join(p.get("source_files") or [])
    timing = (p.get("timings") or {}).get("total")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Profile · {_esc(p['dataset'])}</title>
<style>{CSS}</style>
</head>
<body data-charts="{chart_count}">
<main>
<h1>{_esc(p['dataset'])}</h1>
<p class="sub">Automatic profile of <code>{_esc(p['table'])}</code> · {_esc(p['profiled_at'])} UTC · {_esc(files[:300])}</p>
<div class="kpis">{_kpis(p)}</div>
<h2>What the data says</h2>
<ol class="insights">{insights}</ol>
{''.join(parts)}{note}
<h2>Columns</h2>
{_columns_table(p)}
<footer>Generated by the dataset profiler{f' in {timing:.2f} s' if timing else ''}. Single file, works offline.</footer>
</main>
<script>{THEME_JS}</script>
</body>
</html>
"""

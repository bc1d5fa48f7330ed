"""The page shell every dashboard is rendered into: one self-contained HTML file.

- plotly.js is inlined once, by the first chart of the page (``include_plotlyjs=True``); the
  others reference it, so the file opens from disk with no network at all;
- responsive: KPI tiles and chart cards flow in CSS grids, charts resize with their card;
- light/dark: CSS variables follow ``prefers-color-scheme``, and a small script re-colours the
  charts (also when the system switches theme while the page is open);
- the page states how many charts it holds (``<body data-charts="N">``) so a browser test can
  check that every one of them rendered.

Sections are plain dataclasses; builders (``business_overview.py``, ``data_quality.py``) fill
them with aggregated data only (never raw rows).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#B279A2", "#FF9DA6", "#9D755D", "#BAB0AC"]
GOOD, BAD, WARN, MUTED, MAIN = "#54A24B", "#E45756", "#EECA3B", "#9D9D9D", "#4C78A8"
CHART_HEIGHT = 360
# A small template instead of "plotly_white" (copying plotly's templates costs ~60 ms a chart);
# transparent backgrounds let the page's colours show through in both themes.
_AXIS = {"gridcolor": "rgba(128,128,128,0.22)", "zerolinecolor": "rgba(128,128,128,0.35)", "automargin": True}
TEMPLATE = go.layout.Template(layout={
    "colorway": PALETTE, "xaxis": _AXIS, "yaxis": _AXIS, "hovermode": "x unified",
    "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
    "font": {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12},
    "legend": {"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0, "bgcolor": "rgba(0,0,0,0)"},
    "margin": {"l": 56, "r": 16, "t": 48, "b": 48},
})
PLOTLY_CONFIG = {"responsive": True, "displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}

CSS = """
:root { color-scheme: light dark; --bg: #f5f6f8; --fg: #1c1f24; --muted: #5d6570; --card: #fff; --border: #dfe3e8;
  --accent: #2f6fdb; --good: #2e8540; --bad: #c8372d; --warn: #a06a00; --code: #eef1f5; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #111317; --fg: #e6e8eb; --muted: #9aa3ad; --card: #1a1d22; --border: #2c3139; --accent: #6ea8fe;
    --good: #6cc07a; --bad: #ff7b72; --warn: #e3b341; --code: #252a31; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1480px; margin: 0 auto; padding: clamp(10px, 2.2vw, 30px); }
header h1 { font-size: clamp(1.3rem, 3vw, 1.9rem); margin: 0 0 2px; }
header p { color: var(--muted); margin: 0 0 18px; }
h2 { font-size: 1.12rem; margin: 30px 0 6px; }
section > p.lead { color: var(--muted); margin: 0 0 10px; max-width: 80ch; }
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 170px), 1fr)); gap: 10px; }
.kpi { background: var(--card); border: 1px solid var(--border); border-radius: 10px; padding: 10px 14px; min-width: 0; }
.kpi .label { color: var(--muted); font-size: .82rem; display: block; }
.kpi .value { display: block; font-size: 1.45rem; font-weight: 650; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.kpi .delta { font-size: .82rem; }
.kpi .delta.up { color: var(--good); } .kpi .delta.down { color: var(--bad); } .kpi .delta.flat { color: var(--muted); }
.kpi.bad { border-color: var(--bad); } .kpi.warn { border-color: var(--warn); }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 520px), 1fr)); gap: 14px; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 10px; padding: 6px; min-width: 0; }
.card.wide { grid-column: 1 / -1; }
.card .note { color: var(--muted); font-size: .85rem; margin: 2px 8px 6px; }
.empty { background: var(--card); border: 1px dashed var(--border); border-radius: 10px; padding: 14px 16px; color: var(--muted); }
.table-wrap { overflow-x: auto; background: var(--card); border: 1px solid var(--border); border-radius: 10px; max-height: 520px; }
table { border-collapse: collapse; width: 100%; font-size: .86rem; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--border); white-space: nowrap; vertical-align: top; }
th { position: sticky; top: 0; background: var(--card); z-index: 1; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.wrap { white-space: normal; min-width: 22ch; max-width: 60ch; }
.badge { display: inline-block; padding: 0 8px; border-radius: 999px; font-size: .78rem; font-weight: 600; border: 1px solid currentColor; }
.badge.passed { color: var(--good); } .badge.failed { color: var(--bad); } .badge.warn { color: var(--warn); }
.badge.other { color: var(--muted); }
code { background: var(--code); border-radius: 4px; padding: 0 4px; font-size: .9em; }
footer { color: var(--muted); font-size: .8rem; margin: 30px 0 8px; }
@media (max-width: 600px) { body { font-size: 14px; } th, td { padding: 5px 6px; } }
"""

# Re-colours the charts to the current theme, on load and whenever the system theme changes.
THEME_JS = """
(function () {
  var mq = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
  function apply() {
    if (!window.Plotly) return;
    var dark = !!(mq && mq.matches);
    var fg = dark ? '#e6e8eb' : '#1c1f24', grid = dark ? 'rgba(200,200,200,0.16)' : 'rgba(128,128,128,0.22)';
    document.querySelectorAll('.js-plotly-plot').forEach(function (div) {
      var update = {'font.color': fg, 'title.font.color': fg};
      Object.keys(div.layout || {}).forEach(function (k) {
        if (/^[xy]axis\\d*$/.test(k)) { update[k + '.gridcolor'] = grid; update[k + '.color'] = fg; }
      });
      window.Plotly.relayout(div, update);
    });
  }
  if (mq) { if (mq.addEventListener) mq.addEventListener('change', apply); else mq.addListener(apply); }
  if (document.readyState === 'complete') apply(); else window.addEventListener('load', apply);
})();
"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


# --- building blocks -------------------------------------------------------------------------


@dataclass
class Kpi:
    label: str
    value: str
    delta: str | None = None  # e.g. "+4.2% vs previous 28 days"
    trend: str = "flat"  # up | down | flat: colours the delta (up = good)
    status: str | None = None  # bad | warn: outlines the tile


@dataclass
class Chart:
    figure: go.Figure
    note: str | None = None
    wide: bool = False


@dataclass
class Table:
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    numeric: Sequence[bool] | None = None  # right-align these columns
    html_columns: Sequence[int] = ()  # cells already HTML (badges); escaped otherwise
    wrap_columns: Sequence[int] = ()


@dataclass
class Empty:
    """A placeholder where a chart would be: says what is missing and how to get it."""

    message: str


Block = Chart | Table | Empty


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)
    lead: str | None = None
    kpis: list[Kpi] = field(default_factory=list)


@dataclass
class Page:
    title: str
    subtitle: str
    sections: list[Section]
    footer: str = ""

    @property
    def charts(self) -> list[Chart]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Chart)]


# --- figures ---------------------------------------------------------------------------------


def figure(title: str, height: int = CHART_HEIGHT, **layout: Any) -> go.Figure:
    """An empty figure with the page's template, a left-aligned title and a fixed height."""
    fig = go.Figure(layout={"template": TEMPLATE, "height": height, "autosize": True,
                            "title": {"text": esc(title), "x": 0.01, "xanchor": "left", "font": {"size": 14}}})
    if layout:
        fig.update_layout(**layout)
    return fig


DAY_MS = 86_400_000


def daily_axis(fig: go.Figure, days: int) -> go.Figure:
    """A date x-axis labelled in days, also when the data spans only a day or two (plotly would
    label hours), with bars one day wide (plotly cannot infer a width from a single bar)."""
    fig.update_xaxes(type="date", tickformat="%d %b\n%Y" if days <= 1 else "%d %b", **({"dtick": DAY_MS} if days <= 10 else {}))
    fig.update_traces(width=DAY_MS * 0.8, selector={"type": "bar"})
    return fig


def badge(text: str, kind: str) -> str:
    return f'<span class="badge {esc(kind)}">{esc(text)}</span>'


# --- rendering -------------------------------------------------------------------------------


def _kpis(kpis: Iterable[Kpi]) -> str:
    tiles = []
    for k in kpis:
        delta = f'<span class="delta {esc(k.trend)}">{esc(k.delta)}</span>' if k.delta else ""
        status = f" {esc(k.status)}" if k.status else ""
        tiles.append(f'<div class="kpi{status}"><span class="label">{esc(k.label)}</span>'
                     f'<span class="value">{esc(k.value)}</span>{delta}</div>')
    return f'<div class="kpis">{"".join(tiles)}</div>' if tiles else ""


def _table(t: Table) -> str:
    numeric = list(t.numeric or [False] * len(t.columns))
    head = "".join(f"<th>{esc(c)}</th>" for c in t.columns)
    body = []
    for row in t.rows:
        cells = []
        for i, value in enumerate(row):
            cls = " ".join(c for c, on in (("num", numeric[i] if i < len(numeric) else False), ("wrap", i in t.wrap_columns)) if on)
            content = str(value) if i in t.html_columns else esc(value)
            cells.append(f'<td class="{cls}">{content}</td>' if cls else f"<td>{content}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f'<div class="table-wrap card wide"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _chart(chart: Chart, first: bool, index: int) -> str:
    div = pio.to_html(
        chart.figure, full_html=False, include_plotlyjs=first, config=PLOTLY_CONFIG,
        div_id=f"chart-{index}", default_width="100%", default_height=f"{chart.figure.layout.height or CHART_HEIGHT}px",
        validate=False,
    )
    note = f'<p class="note">{esc(chart.note)}</p>' if chart.note else ""
    return f'<div class="card{" wide" if chart.wide else ""}">{div}{note}</div>'


def render(page: Page, generated_at: dt.datetime | None = None) -> str:
    """The whole page as one HTML string (plotly.js inlined once, by the first chart)."""
    generated_at = generated_at or dt.datetime.now(dt.UTC)
    parts: list[str] = []
    index = 0
    for section in page.sections:
        blocks: list[str] = []
        for block in section.blocks:
            if isinstance(block, Chart):
                blocks.append(_chart(block, first=index == 0, index=index))
                index += 1
            elif isinstance(block, Table):
                blocks.append(_table(block))
            else:
                blocks.append(f'<div class="empty card wide">{esc(block.message)}</div>')
        lead = f'<p class="lead">{esc(section.lead)}</p>' if section.lead else ""
        grid = f'<div class="grid">{"".join(blocks)}</div>' if blocks else ""
        parts.append(f'<section><h2>{esc(section.title)}</h2>{lead}{_kpis(section.kpis)}{grid}</section>')
    footer = esc(page.footer + (" · " if page.footer else "")) + f"Generated {generated_at:%Y-%m-%d %H:%M} UTC."
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        f"<title>{esc(page.title)}</title><style>{CSS}</style></head>"
        f'<body data-charts="{index}"><main>'
        f"<header><h1>{esc(page.title)}</h1><p>{esc(page.subtitle)}</p></header>"
        f'{"".join(parts)}<footer>{footer}</footer></main>'
        f"<script>{THEME_JS}</script></body></html>\n"
    )


# --- number formatting -----------------------------------------------------------------------


def number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    value = float(value)
    for unit, suffix, starts_at in ((1e9, "B", 1e9), (1e6, "M", 1e6), (1e3, "k", 1e4)):
        if abs(value) >= starts_at:
            scaled = value / unit
            return f"{scaled:,.{1 if abs(scaled) < 100 else 0}f}{suffix}"
    return f"{value:,.{digits}f}"


CURRENCY = "€"  # the shop's amounts are in EUR


def money(value: float | int | None) -> str:
    return "–" if value is None else ("-" if value < 0 else "") + CURRENCY + number(abs(value), 0 if abs(value) >= 100 else 2)


def percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def change(current: float | None, previous: float | None, label: str, *, higher_is_better: bool = True) -> tuple[str | None, str]:
    """("+4.2% vs <label>", trend) for a KPI tile; trend colours it (up = good)."""
    if current is None or not previous:
        return None, "flat"
    ratio = current / previous - 1
    if abs(ratio) < 0.0005:
        return f"±0% vs {label}", "flat"
    good = (ratio > 0) == higher_is_better
    return f"{ratio * 100:+.1f}% vs {label}", "up" if good else "down"

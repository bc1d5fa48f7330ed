"""The one HTML page shell every report is rendered into: the dashboards and the dataset profiles.

A page is one self-contained HTML file:

- plotly.js is inlined once, by the first chart of the page (``include_plotlyjs=True``); the
  others reference it, so the file opens from disk with no network at all;
- responsive: KPI tiles and cards flow in CSS grids, charts resize with their card, and nothing
  scrolls sideways on a phone;
- light/dark: CSS variables follow ``prefers-color-scheme``, and a small script re-colours the
  charts (also when the system switches theme while the page is open);
- the page states how many charts it holds (``<body data-charts="N">``) so a browser test can
  check that every one of them rendered.

Builders fill the dataclasses below with aggregated data only (never raw rows) and call
``render``. A chart's figure is either a ``plotly.graph_objects.Figure`` (the dashboards) or a
plain ``{"data": [...], "layout": {...}}`` dict (the profiles, which skip plotly's validation
for speed); both are drawn with ``PLOTLY_TEMPLATE``.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # plotly loads when a page is drawn, not with the definitions (every run process)
    import plotly.graph_objects as go

PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#B279A2", "#FF9DA6", "#9D755D", "#BAB0AC"]
GOOD, BAD, WARN, MUTED, MAIN = "#54A24B", "#E45756", "#EECA3B", "#9D9D9D", "#4C78A8"
CHART_HEIGHT = 360
CARD_WIDTH = 520  # px: the narrowest a card gets before the grid drops a column
# A small template instead of "plotly_white" (copying plotly's templates costs ~60 ms a chart);
# transparent backgrounds let the page's colours show through in both themes.
_AXIS = {"gridcolor": "rgba(128,128,128,0.22)", "zerolinecolor": "rgba(128,128,128,0.35)", "automargin": True}
PLOTLY_TEMPLATE: dict[str, Any] = {"layout": {
    "colorway": PALETTE, "xaxis": _AXIS, "yaxis": _AXIS, "hovermode": "x unified",
    "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
    "font": {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12},
    "legend": {"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0, "bgcolor": "rgba(0,0,0,0)"},
    "margin": {"l": 56, "r": 16, "t": 48, "b": 48},
}}
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
header h1 { font-size: clamp(1.3rem, 3vw, 1.9rem); margin: 0 0 2px; overflow-wrap: anywhere; }
header p { color: var(--muted); margin: 0 0 18px; overflow-wrap: anywhere; }
h2 { font-size: 1.12rem; margin: 30px 0 6px; }
section > p.lead { color: var(--muted); margin: 0 0 10px; max-width: 80ch; }
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 170px), 1fr)); gap: 10px; }
.kpi { background: var(--card); border: 1px solid var(--border); border-radius: 10px; padding: 10px 14px; min-width: 0; }
.kpi .label { color: var(--muted); font-size: .82rem; display: block; }
.kpi .value { display: block; font-size: 1.45rem; font-weight: 650; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.kpi .delta { font-size: .82rem; }
.kpi .delta.up { color: var(--good); } .kpi .delta.down { color: var(--bad); } .kpi .delta.flat { color: var(--muted); }
.kpi.bad { border-color: var(--bad); } .kpi.warn { border-color: var(--warn); }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, var(--card-min, 520px)), 1fr)); gap: 14px; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 10px; padding: 6px; min-width: 0; }
.card.wide { grid-column: 1 / -1; }
.card .note { color: var(--muted); font-size: .85rem; margin: 2px 8px 6px; }
.empty { background: var(--card); border: 1px dashed var(--border); border-radius: 10px; padding: 14px 16px; color: var(--muted); }
ol.notes { margin: 0; padding: 10px 12px 10px 36px; }
ol.notes li { margin: 6px 0; }
.table-wrap { overflow-x: auto; background: var(--card); border: 1px solid var(--border); border-radius: 10px; max-height: 520px; }
table { border-collapse: collapse; width: 100%; font-size: .86rem; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--border); white-space: nowrap; vertical-align: top; }
th { position: sticky; top: 0; background: var(--card); z-index: 1; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.wrap { white-space: normal; min-width: 22ch; max-width: 60ch; }
.bar { display: inline-block; height: 8px; background: var(--accent); border-radius: 4px; vertical-align: middle; }
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


def rich(text: str) -> str:
    """Text → HTML: escaped, with `identifiers` in backticks as <code>."""
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", esc(text))


def badge(text: str, kind: str) -> str:
    """A coloured pill for a table cell (list the column in ``Table.html_columns``)."""
    return f'<span class="badge {esc(kind)}">{esc(text)}</span>'


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
    figure: go.Figure | dict[str, Any]
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


@dataclass
class Notes:
    """A numbered list of findings; `identifiers` in backticks are shown as code."""

    items: Sequence[str]


Block = Chart | Table | Empty | Notes


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)
    lead: str | None = None
    kpis: list[Kpi] = field(default_factory=list)
    card_width: int = CARD_WIDTH  # wider for charts that need room (heatmaps, long time series)


@dataclass
class Page:
    title: str
    subtitle: str  # `identifiers` in backticks are shown as code
    sections: list[Section]
    footer: str = ""

    @property
    def charts(self) -> list[Chart]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Chart)]


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


def _height(figure: go.Figure | dict[str, Any]) -> int:
    height = figure.get("layout", {}).get("height") if isinstance(figure, dict) else figure.layout.height
    return height or CHART_HEIGHT


def _chart(chart: Chart, first: bool, index: int) -> str:
    import plotly.io as pio

    div = pio.to_html(
        chart.figure, full_html=False, include_plotlyjs=first, config=PLOTLY_CONFIG,
        div_id=f"chart-{index}", default_width="100%", default_height=f"{_height(chart.figure)}px",
        validate=False,
    )
    note = f'<p class="note">{esc(chart.note)}</p>' if chart.note else ""
    return f'<div class="card{" wide" if chart.wide else ""}">{div}{note}</div>'


def _notes(notes: Notes) -> str:
    return f'<ol class="notes card wide">{"".join(f"<li>{rich(item)}</li>" for item in notes.items)}</ol>'


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
            elif isinstance(block, Notes):
                blocks.append(_notes(block))
            else:
                blocks.append(f'<div class="empty card wide">{esc(block.message)}</div>')
        lead = f'<p class="lead">{rich(section.lead)}</p>' if section.lead else ""
        width = f' style="--card-min: {int(section.card_width)}px"' if section.card_width != CARD_WIDTH else ""
        grid = f'<div class="grid"{width}>{"".join(blocks)}</div>' if blocks else ""
        parts.append(f'<section><h2>{esc(section.title)}</h2>{lead}{_kpis(section.kpis)}{grid}</section>')
    footer = esc(page.footer + (" · " if page.footer else "")) + f"Generated {generated_at:%Y-%m-%d %H:%M} UTC."
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        f"<title>{esc(page.title)}</title><style>{CSS}</style></head>"
        f'<body data-charts="{index}"><main>'
        f"<header><h1>{esc(page.title)}</h1><p>{rich(page.subtitle)}</p></header>"
        f'{"".join(parts)}<footer>{footer}</footer></main>'
        f"<script>{THEME_JS}</script></body></html>\n"
    )

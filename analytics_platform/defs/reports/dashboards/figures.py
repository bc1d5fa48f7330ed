"""Plotly figures for the dashboards, drawn with the page shell's template (``page.py``)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from analytics_platform.defs.reports.page import CHART_HEIGHT, PLOTLY_TEMPLATE, esc

# Built once: plotly validates a template dict on every figure otherwise.
TEMPLATE = go.layout.Template(PLOTLY_TEMPLATE)
DAY_MS = 86_400_000


def figure(title: str, height: int = CHART_HEIGHT, **layout: Any) -> go.Figure:
    """An empty figure with the page's template, a left-aligned title and a fixed height."""
    fig = go.Figure(layout={"template": TEMPLATE, "height": height, "autosize": True,
                            "title": {"text": esc(title), "x": 0.01, "xanchor": "left", "font": {"size": 14}}})
    if layout:
        fig.update_layout(**layout)
    return fig


def daily_axis(fig: go.Figure, days: int) -> go.Figure:
    """A date x-axis labelled in days, also when the data spans only a day or two (plotly would
    label hours), with bars one day wide (plotly cannot infer a width from a single bar)."""
    fig.update_xaxes(type="date", tickformat="%d %b\n%Y" if days <= 1 else "%d %b", **({"dtick": DAY_MS} if days <= 10 else {}))
    fig.update_traces(width=DAY_MS * 0.8, selector={"type": "bar"})
    return fig

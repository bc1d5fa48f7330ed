"""Plotly figures for the dashboards, drawn with the page shell's template (``page.py``)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from analytics_platform.defs.reports.page import CHART_HEIGHT, PLOTLY_TEMPLATE, esc

if TYPE_CHECKING:
    import plotly.graph_objects as go

DAY_MS = 86_400_000


@functools.cache
def template() -> go.layout.Template:
    """Built once: plotly validates a template dict on every figure otherwise. plotly loads here,
    when a dashboard is drawn, not with the definitions (every run process loads those)."""
    import plotly.graph_objects as go

    return go.layout.Template(PLOTLY_TEMPLATE)


def figure(title: str, height: int = CHART_HEIGHT, **layout: Any) -> go.Figure:
    """An empty figure with the page's template, a left-aligned title and a fixed height."""
    import plotly.graph_objects as go

    fig = go.Figure(layout={"template": template(), "height": height, "autosize": True,
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

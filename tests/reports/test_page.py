"""What every report shares: the page shell it is rendered into (``page.py``) and the atomic
writer its files go through (``files.py``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analytics_platform.defs.reports import page
from analytics_platform.defs.reports.dashboards.figures import figure
from analytics_platform.files import replaced_atomically, write_atomically

PLOTLY_BANNER = re.compile(r"plotly\.js v\d+\.\d+\.\d+")


def _scripts_loading_from_network(text: str) -> list[str]:
    return re.findall(r"<(?:script|link|img|iframe)[^>]+(?:src|href)=[\"']?(?:https?:)?//", text, flags=re.I)


def test_page_inlines_plotly_once_and_declares_its_charts():
    charts = []
    for i in range(3):
        fig = figure(f"chart {i}")
        fig.add_scatter(x=[1, 2, 3], y=[i, i + 1, i])
        charts.append(page.Chart(fig))
    # a plain-dict figure, as the profiles draw them (rendered without plotly's validation)
    charts.append(page.Chart({"data": [{"type": "bar", "x": ["a", "b"], "y": [1, 2]}],
                              "layout": {"template": page.PLOTLY_TEMPLATE, "height": 300}}))
    shell = page.Page("Test <page>", "profile of `lake.t<1>`", [
        page.Section("KPIs", kpis=[page.Kpi("Revenue", "€1.2k", "+1.0% vs x", "up")]),
        page.Section("Findings", [page.Notes(["`a` & `b` rise together"])]),
        page.Section("Charts", [*charts, page.Empty("nothing"), page.Table(["a", "b"], [["<b>", 1]], numeric=[False, True])]),
        page.Section("Roomy charts", card_width=640),
    ])
    text = page.render(shell)
    assert len(PLOTLY_BANNER.findall(text)) == 1, "plotly.js must be inlined exactly once"
    assert text.count("Plotly.newPlot(") >= 4
    assert 'data-charts="4"' in text and len(shell.charts) == 4
    assert 'height:300px' in text.replace(" ", "")
    assert "prefers-color-scheme: dark" in text and 'name="viewport"' in text and page.THEME_JS in text
    assert "Test &lt;page&gt;" in text and "<td>&lt;b&gt;</td>" in text  # escaped
    assert "profile of <code>lake.t&lt;1&gt;</code>" in text and "<li><code>a</code> &amp; <code>b</code> rise together</li>" in text
    assert not _scripts_loading_from_network(text)


def test_sections_can_ask_for_wider_cards():
    shell = page.Page("t", "s", [page.Section("normal", [page.Empty("x")]), page.Section("roomy", [page.Empty("y")], card_width=640)])
    text = page.render(shell)
    assert text.count('<div class="grid">') == 1 and text.count('<div class="grid" style="--card-min: 640px">') == 1


def test_atomic_writes_leave_the_new_file_or_the_old_one(tmp_path: Path):
    path = tmp_path / "reports" / "page.html"
    assert write_atomically(path, "first") == path and path.read_text() == "first"
    with pytest.raises(RuntimeError), replaced_atomically(path) as partial:
        partial.write_text("half a pa")
        raise RuntimeError("disk full")
    assert path.read_text() == "first"
    write_atomically(path, "second")
    assert path.read_text() == "second"
    assert sorted(p.name for p in path.parent.iterdir()) == ["page.html"]  # no temporary file left

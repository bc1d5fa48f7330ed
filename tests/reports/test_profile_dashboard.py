"""The profile dashboard: one offline HTML file per dataset (the shared page shell), every
insight on it, and figures that are valid plotly."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pytest

from analytics_platform.defs.reports.page import CSS, THEME_JS
from analytics_platform.defs.reports.profiles.dashboard import figures
from tests.reports.profile_datasets import DATASETS, XSS


@pytest.mark.parametrize("dataset", DATASETS)
def test_dashboard_is_one_offline_file(profiled: dict[str, Any], dataset: str) -> None:
    page = (profiled["reports"] / f"{dataset}.html").read_text()
    assert not re.search(r"<script[^>]+src\s*=", page, re.IGNORECASE)  # nothing fetched: no CDN, no file
    assert "<link" not in page and "@import" not in page
    assert "plotly.js v" in page and len(page) > 3_000_000  # plotly.js inlined
    assert "prefers-color-scheme: dark" in page and 'name="viewport"' in page
    assert CSS in page and THEME_JS in page  # the page shell the dashboards use
    assert int(re.search(r'data-charts="(\d+)"', page).group(1)) >= 3  # type: ignore[union-attr]
    assert XSS not in page and "<script>alert(1)" not in page
    plain = re.sub(r"</?code>", "", page)
    for insight in profiled["profiles"][dataset]["insights"]:
        assert html.escape(insight["text"].replace("`", "")) in plain


def test_dashboard_figures_are_valid_plotly(profiled: dict[str, Any]) -> None:
    for dataset in ("planted__orders", "mpl_stocks", "breast_cancer"):
        drawn = [fig for figs in figures(profiled["profiles"][dataset]).values() for fig in figs]
        assert len(drawn) >= 3, f"{dataset}: only {len(drawn)} figures"
        for fig in drawn:
            go.Figure(fig)  # the dicts are rendered unvalidated for speed; the schema check happens here
        page = (profiled["reports"] / f"{dataset}.html").read_text()
        assert f'data-charts="{len(drawn)}"' in page
    planted = figures(profiled["profiles"]["planted__orders"])
    assert all(planted.values()), {title: len(figs) for title, figs in planted.items()}  # a chart in every section
    assert profiled["materializations"]["planted__orders"]["reports.dataset_dashboard"]["charts"].value == sum(map(len, planted.values()))


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed (the browser tests render the pages)")
def test_dashboard_scripts_parse(profiled: dict[str, Any], tmp_path: Path) -> None:
    page = (profiled["reports"] / "planted__orders.html").read_text()
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, re.DOTALL)
    assert len(scripts) >= 4
    for i, script in enumerate(scripts):
        path = tmp_path / f"s{i}.js"
        path.write_text(script)
        check = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr[:500]


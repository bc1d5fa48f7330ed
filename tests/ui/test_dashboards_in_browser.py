"""The dashboard files in a real browser, opened from disk with the network blocked: every chart
renders, nothing is fetched, no console errors; dark mode and a phone-sized screen work."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from analytics_platform.defs.ingestion.assets import raw_tables
from analytics_platform.defs.reports.dashboards.business_overview import business_overview
from analytics_platform.defs.reports.dashboards.data_quality import data_quality_report
from analytics_platform.resources import WarehouseResource

from . import sample_marts
from .conftest import write_customers

ALL_CHARTS_DRAWN = """() => {
  const expected = Number(document.body.dataset.charts);
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  return expected > 0 && plots.length === expected && plots.every(p => p.querySelector('.main-svg') && p._fullData);
}"""


@pytest.fixture(scope="module")
def dashboards(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both dashboards, rendered from a warehouse with a few ingested files (one of them bad,
    so the quarantine section has content) and the synthetic marts and ML tables."""
    root = tmp_path_factory.mktemp("dashboards")
    landing = root / "landing"
    write_customers(landing, "customers_2026-01-01.csv", range(1, 6))
    write_customers(landing, "customers_2026-01-02.csv", range(6, 9))
    (landing / "shop" / "customers" / "customers_2026-01-03.csv").write_text("customer_id;email\nnot;a contract\n")
    warehouse = WarehouseResource(state_dir=str(root / "state"), landing_dir=str(landing))
    instance = dg.DagsterInstance.ephemeral()
    resources = {"warehouse": warehouse}
    dg.materialize([raw_tables], resources=resources, instance=instance,
                   run_config={"ops": {"raw_tables": {"config": {"settle_seconds": 0.0}}}})
    sample_marts.build(warehouse)
    result = dg.materialize([business_overview, data_quality_report], resources=resources, instance=instance)
    assert result.success
    folder = warehouse.settings.reports_dir / "dashboards"
    return {name: folder / f"{name}.html" for name in ("business_overview", "data_quality_report")}


def open_offline(new_page, path: Path, **context_options):
    """Open ``path`` from disk with every non-file request aborted; returns (page, requests, errors)."""
    page = new_page(**context_options)
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
    page.goto(path.as_uri())
    page.wait_for_function(ALL_CHARTS_DRAWN)
    return page, requests, errors


@pytest.mark.parametrize("name, charts", [("business_overview", 7), ("data_quality_report", 5)])
def test_every_chart_renders_offline(dashboards, new_page, name, charts):
    page, requests, errors = open_offline(new_page, dashboards[name])
    assert page.evaluate("Number(document.body.dataset.charts)") == charts
    # every figure drew its traces (main-svg is plotly's drawing surface)
    assert page.locator(".js-plotly-plot").count() == charts
    assert page.evaluate("[...document.querySelectorAll('.js-plotly-plot')].every(p => p._fullData.length > 0)")
    assert page.locator(".kpi").count() >= 7
    assert [u for u in requests if not u.startswith("file:")] == [], "the page must not touch the network"
    assert errors == []
    page.get_by_role("heading", level=1).wait_for()


def test_dark_mode_recolours_page_and_charts(dashboards, new_page):
    page, _, errors = open_offline(new_page, dashboards["business_overview"], color_scheme="dark")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(17, 19, 23)"
    page.wait_for_function("[...document.querySelectorAll('.js-plotly-plot')].every(p => p._fullLayout.font.color === '#e6e8eb')")
    assert errors == []


def test_fits_a_phone_screen(dashboards, new_page):
    for name in dashboards:
        page, _, errors = open_offline(new_page, dashboards[name], viewport={"width": 390, "height": 844}, is_mobile=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{name} scrolls sideways by {overflow}px on a phone"
        widths = page.evaluate("[...document.querySelectorAll('.js-plotly-plot')].map(p => p.getBoundingClientRect().width)")
        assert widths and max(widths) <= 390
        assert errors == []

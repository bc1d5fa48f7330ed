"""The ``reports/business_overview`` asset: KPIs, revenue with its forecast and anomalies, cohorts,
funnel, experiments and churn risk on one HTML page, from the marts and the ML tables.

Beside it: ``business_overview_data.py`` (what it reads, aggregated in SQL),
``business_overview_stats.py`` (the statistics computed on those aggregates) and
``business_overview_charts.py`` (the tiles, charts and tables, and their order on the page).
"""

import datetime as dt
import time

import dagster as dg

from analytics_platform.defs.reports.dashboards.business_overview_charts import build_page
from analytics_platform.defs.reports.dashboards.business_overview_data import MARTS, ML, Overview, gather
from analytics_platform.defs.reports.dashboards.common import (
    GROUP,
    KEY_PREFIX,
    OWNERS,
    TAGS,
    kpi_markdown,
    publish,
    read_warehouse,
    refresh_when_upstream_changes,
)
from analytics_platform.resources import WarehouseResource

FILE_NAME = "business_overview.html"


@dg.asset(
    key=[KEY_PREFIX, "business_overview"],
    group_name=GROUP,
    deps=[*MARTS, *ML],
    owners=OWNERS,
    kinds={"html", "plotly"},
    tags=TAGS,
    description="Single-file HTML dashboard (opens offline): KPI tiles (last 28 days vs the 28 before), daily revenue "
    "with the forecast's prediction band and anomaly markers, weekly revenue by channel, cohort retention heatmap, "
    "churn-risk distribution, conversion funnel and experiment results. Refreshed whenever a mart or ML table it "
    f"draws is updated. Written to `<reports_dir>/dashboards/{FILE_NAME}` (shared mode: on the object store).",
    automation_condition=refresh_when_upstream_changes(),
)
def business_overview(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    overview = read_warehouse(warehouse, gather, Overview)
    page = build_page(overview, now)
    if overview.missing:
        context.log.warning(f"drawn without {', '.join(overview.missing)} (not materialized yet)")
    md = kpi_markdown(page.sections[0].kpis) if page.sections[0].kpis else "_No revenue data yet._"
    return publish(page, warehouse.settings, FILE_NAME, started, md, {
        "data_up_to": str(overview.last_day or ""),
        "missing_inputs": dg.MetadataValue.json(overview.missing),
    })

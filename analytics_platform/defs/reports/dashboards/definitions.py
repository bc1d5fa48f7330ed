"""Dashboards (single-file HTML, under ``<reports_dir>/dashboards/``) and on-demand exports.

Needs the ``warehouse`` resource bound in ``analytics_platform/definitions.py``.
"""

import dagster as dg

from analytics_platform.code_references import with_code_references
from analytics_platform.defs.reports.dashboards.business_overview import business_overview
from analytics_platform.defs.reports.dashboards.data_quality import data_quality_report
from analytics_platform.defs.reports.dashboards.exports import export_marts

defs = dg.Definitions(
    assets=with_code_references([business_overview, data_quality_report]),
    jobs=[export_marts],
)

"""Dashboards (HTML files) and exports, against real ingestion runs and small synthetic marts.

The page shell they are rendered into is tested in ``test_page.py``; the rendering in a real
browser (every chart drawn, no network) in ``tests/ui/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from analytics_platform.defs.reports.dashboards import formatting
from analytics_platform.defs.reports.dashboards.business_overview import business_overview
from analytics_platform.defs.reports.dashboards.business_overview_stats import relative_lift, trailing_mean, wilson_interval
from analytics_platform.defs.reports.dashboards.data_quality import data_quality_report
from analytics_platform.defs.reports.dashboards.definitions import defs as dashboard_defs
from analytics_platform.defs.reports.dashboards.exports import export_marts
from tests.ui import sample_marts

SIZE_BUDGET = 10 * 1024 * 1024
PLOTLY_BANNER = re.compile(r"plotly\.js v\d+\.\d+\.\d+")
CUSTOMERS_HEADER = "customer_id,email,first_name,last_name,country_code,acquisition_channel,signed_up_at,updated_at\n"


def _customers(landing: Path, name: str, ids: range, bad: bool = False) -> None:
    folder = landing / "shop" / "customers"
    folder.mkdir(parents=True, exist_ok=True)
    rows = "".join(
        f"{'x' if bad and i == ids[0] else i},c{i}@mail.example,Ann,Lee,DE,organic,2026-01-01 10:00:00,2026-01-01 10:00:00\n" for i in ids
    )
    (folder / name).write_text(CUSTOMERS_HEADER + rows)


def _materialize(asset, platform, instance=None) -> dg.MaterializeResult:
    result = dg.materialize([asset], resources={"warehouse": platform.warehouse}, instance=instance)
    assert result.success
    (event,) = result.get_asset_materialization_events()
    return event.step_materialization_data.materialization


# --- number formats ----------------------------------------------------------------------


def test_number_formats():
    assert formatting.number(999) == "999"
    assert formatting.number(12_345) == "12.3k"
    assert formatting.number(259_000) == "259k"
    assert formatting.number(1_500_000) == "1.5M"
    assert formatting.money(59.721) == "€59.72"
    assert formatting.money(259_123) == "€259k"
    assert formatting.percent(0.0551, 2) == "5.51%"
    assert formatting.change(110, 100, "before") == ("+10.0% vs before", "up")
    assert formatting.change(90, 100, "before")[1] == "down"
    assert formatting.change(1, None, "before") == (None, "flat")


# --- data-quality report ---------------------------------------------------------------------


def test_data_quality_report_shows_checks_quarantine_and_volume(platform):
    _customers(platform.landing, "customers_2026-01-01.csv", range(1, 6))
    _customers(platform.landing, "customers_2026-01-02.csv", range(6, 9))
    _customers(platform.landing, "customers_2026-01-03.csv", range(9, 12), bad=True)
    instance = dg.DagsterInstance.ephemeral()
    platform.ingest(instance)

    m = _materialize(data_quality_report, platform, instance)
    path = Path(m.metadata["path"].path)
    assert path == platform.settings.reports_dir / "dashboards" / "data_quality_report.html"
    text = path.read_text()
    assert m.metadata["size_bytes"].value == path.stat().st_size < SIZE_BUDGET
    assert m.metadata["files_quarantined"].value == 1
    assert m.metadata["checks"].value >= 4  # contract_conformity + the three table checks of raw/shop__customers
    assert m.metadata["checks_failing"].value >= 1  # contract_conformity failed: a file was quarantined
    assert 'data-charts="5"' in text and m.metadata["charts"].value == 5
    assert "contract_conformity" in text and 'class="badge failed"' in text and 'class="badge passed"' in text
    assert "type_cast_failed" in text and "customers_2026-01-03.csv" in text
    assert "shop__customers" in text
    md = m.metadata["summary"].value
    assert "| Files quarantined | 1 |" in md and "contract_conformity" in md
    assert len(PLOTLY_BANNER.findall(text)) == 1


def test_checks_a_later_run_skipped_keep_their_last_result(platform):
    """A run that loads nothing for a table plans its table checks without evaluating them: the
    report shows the last evaluation that happened, not "skipped"."""
    instance = dg.DagsterInstance.ephemeral()
    _customers(platform.landing, "customers_2026-01-01.csv", range(1, 6))
    platform.ingest(instance)
    _customers(platform.landing, "customers_2026-01-02.csv", range(6, 9), bad=True)
    platform.ingest(instance)

    m = _materialize(data_quality_report, platform, instance)
    text = Path(m.metadata["path"].path).read_text()
    statuses = {check: status for status, check in re.findall(
        r'class="badge \w+">([^<]+)</span></td><td>raw/shop__customers</td><td>(\w+)</td>', text)}
    assert statuses == {"contract_conformity": "failed", "row_reconciliation": "passed",
                        "primary_key_unique": "passed", "required_columns_not_null": "passed"}


def test_data_quality_report_on_an_empty_platform(platform):
    m = _materialize(data_quality_report, platform)
    text = Path(m.metadata["path"].path).read_text()
    assert m.metadata["charts"].value == 0 and 'data-charts="0"' in text
    assert "Nothing ingested yet" in text and "No asset check has run yet" in text


# --- business overview -----------------------------------------------------------------------


def test_business_overview_draws_every_section(platform):
    sample_marts.build(platform.warehouse)
    m = _materialize(business_overview, platform)
    path = Path(m.metadata["path"].path)
    text = path.read_text()
    assert path.name == "business_overview.html" and path.parent.name == "dashboards"
    assert m.metadata["charts"].value == 7 and 'data-charts="7"' in text
    assert m.metadata["size_bytes"].value < SIZE_BUDGET
    assert m.metadata["missing_inputs"].value == []
    for trace in ("95% interval", "80% interval", "forecast", "anomaly", "high risk"):
        assert f'"name":"{trace}"' in text, trace
    assert '"type":"heatmap"' in text and '"type":"funnel"' in text
    assert "relative lift vs control" in text and "treatment converts 13% better" in text  # ml.experiment_results
    assert "not available yet" not in text

    # KPI: revenue of the last 28 days, computed independently
    revenue = platform.query(
        "SELECT sum(revenue) FROM marts.fct_daily_revenue WHERE date_day > (SELECT max(date_day) FROM marts.fct_daily_revenue) - 28"
    )[0][0]
    md = m.metadata["summary"].value
    assert f"| Revenue, last 28 days | {formatting.money(float(revenue))} |" in md
    assert "| Customers at high churn risk |" in md and "| Forecast revenue, next 14 days |" in md


def test_business_overview_statistics():
    rate, low, high = wilson_interval(50, 100)
    assert rate == 0.5 and low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 0.0, 0.0)
    assert 0 < wilson_interval(0, 20)[2] < 0.2  # a rate of zero still has an upper bound
    assert trailing_mean([1, 2, 3, 4], 2) == [1, 1.5, 2.5, 3.5]
    assert relative_lift(0.113, 0.1) == pytest.approx(0.13)


def test_business_overview_without_ml_tables_says_what_is_missing(platform):
    sample_marts.build(platform.warehouse, with_ml=False)
    m = _materialize(business_overview, platform)
    text = Path(m.metadata["path"].path).read_text()
    assert m.metadata["charts"].value == 5  # no churn chart
    assert set(m.metadata["missing_inputs"].value) == {f"ml.{t}" for t in sample_marts.ML_TABLES}
    assert "Churn risk: not available yet" in text and "forecast: not available yet" in text


def test_business_overview_on_an_empty_warehouse(platform):
    m = _materialize(business_overview, platform)
    text = Path(m.metadata["path"].path).read_text()
    assert m.metadata["charts"].value == 0
    assert "Revenue: not available yet" in text


def test_dashboards_merge_into_the_platform_and_depend_on_what_they_draw():
    from analytics_platform.definitions import defs as platform_defs

    merged = dg.Definitions.merge(platform_defs, dashboard_defs)
    assert merged.resolve_job_def("export_marts") is not None
    graph = merged.resolve_asset_graph()
    overview = graph.get(dg.AssetKey(["reports", "business_overview"]))
    assert {k.to_user_string() for k in overview.parent_keys} == {
        "fct_daily_revenue", "customer_cohorts", "funnel_daily", "experiment_outcomes",
        "revenue_forecast", "metric_anomalies", "experiment_results", "churn_scores",
    }
    quality = graph.get(dg.AssetKey(["reports", "data_quality_report"]))
    assert dg.AssetKey(["raw", "shop__orders"]) in quality.parent_keys
    for node in (overview, quality):
        assert node.group_name == "reports"
        assert node.automation_condition is not None


def test_the_columns_the_overview_reads_exist_in_the_marts_and_ml_tables(platform):
    import yaml

    from analytics_platform.defs.reports.dashboards.business_overview_data import COLUMNS_USED
    from analytics_platform.settings import DBT_PROJECT_DIR

    declared = {}
    for path in (DBT_PROJECT_DIR / "models" / "marts").rglob("*.yml"):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            declared[f"marts.{model['name']}"] = {c["name"] for c in model.get("columns", [])}
    from ml_assets.anomalies import detection as anomalies
    from ml_assets.churn import scoring
    from ml_assets.experiments import analysis as experiments
    from ml_assets.forecast import model as forecast

    declared.update({"ml.revenue_forecast": set(forecast.COLUMN_DOCS), "ml.metric_anomalies": set(anomalies.COLUMN_DOCS),
                     "ml.churn_scores": set(scoring.COLUMN_DOCS), "ml.experiment_results": set(experiments.COLUMN_DOCS)})
    sample_marts.build(platform.warehouse)  # the synthetic tables the other tests draw from match too
    for table, columns in COLUMNS_USED.items():
        assert columns <= declared[table], f"{table} lacks {columns - declared[table]}"
        schema, name = table.split(".")
        present = {r[0] for r in platform.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?", [schema, name])}
        assert columns <= present, f"synthetic {table} lacks {columns - present}"


# --- exports ---------------------------------------------------------------------------------


def _export(platform, **config) -> dg.ExecuteInProcessResult:
    return export_marts.execute_in_process(
        resources={"warehouse": platform.warehouse}, run_config={"ops": {"export_tables": {"config": config}}}, raise_on_error=False
    )


def test_export_writes_csv_and_parquet_that_read_back(platform):
    sample_marts.build(platform.warehouse)
    result = _export(platform, tables=["fct_daily_revenue", "ml.churn_scores"], format="both")
    assert result.success
    paths = [Path(p) for p in result.output_for_node("export_tables")]
    exports = platform.settings.reports_dir / "exports"
    assert sorted(p.relative_to(exports).as_posix() for p in paths) == [
        "marts/fct_daily_revenue.csv", "marts/fct_daily_revenue.parquet", "ml/churn_scores.csv", "ml/churn_scores.parquet",
    ]
    expected = platform.query("SELECT count(*), sum(revenue)::DOUBLE FROM marts.fct_daily_revenue")[0]
    con = duckdb.connect()
    for suffix in ("csv", "parquet"):
        got = con.execute(f"SELECT count(*), sum(revenue)::DOUBLE FROM '{exports}/marts/fct_daily_revenue.{suffix}'").fetchone()
        assert got[0] == expected[0] and got[1] == pytest.approx(expected[1])
    assert con.execute(f"SELECT count(*) FROM '{exports}/ml/churn_scores.parquet'").fetchone()[0] == sample_marts.CUSTOMERS
    assert not list(exports.rglob(".*"))  # no temporary file left beside the exports


def test_export_defaults_to_every_mart_and_rejects_unknown_tables(platform):
    sample_marts.build(platform.warehouse, with_ml=False)
    result = _export(platform, format="csv")
    assert result.success
    written = sorted(Path(p).name for p in result.output_for_node("export_tables"))
    assert written == ["customer_cohorts.csv", "experiment_outcomes.csv", "fct_daily_revenue.csv", "funnel_daily.csv"]

    bad = _export(platform, tables=["fct_nope"])
    assert not bad.success
    failure = next(e for e in bad.all_events if e.is_step_failure)
    assert "fct_nope" in failure.event_specific_data.error.message
    assert "fct_daily_revenue" in failure.event_specific_data.error.message  # lists what exists

    with pytest.raises(dg.DagsterInvalidConfigError):
        _export(platform, format="xlsx")

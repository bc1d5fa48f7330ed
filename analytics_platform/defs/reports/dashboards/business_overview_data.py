"""What ``reports/business_overview`` reads: the marts (``lake.marts``) and the ML tables
(``lake.ml``), aggregated in SQL into an ``Overview`` (a few thousand values at most, whatever the
scale). A table that is not there (ML not trained, a mart not built) leaves its part empty; the
page says "not available yet" there instead of failing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import duckdb

from analytics_platform.defs.reports.dashboards.common import columns_of, existing_tables

WINDOW_DAYS = 28  # KPIs: the last 28 days (4 whole weeks) against the 28 before
TREND_DAYS = 180  # revenue chart: at most this much history before the forecast
MARTS = ("fct_daily_revenue", "customer_cohorts", "funnel_daily", "experiment_outcomes")
ML = ("revenue_forecast", "metric_anomalies", "experiment_results", "churn_scores")
# What the page reads, per table (tested against the dbt models' .yml and the ML column docs, so a
# renamed column fails a test instead of a chart)
COLUMNS_USED = {
    "marts.fct_daily_revenue": {"date_day", "channel", "revenue", "orders", "orders_not_cancelled", "new_customers", "sessions",
                                "converting_sessions", "ad_spend"},
    "marts.customer_cohorts": {"cohort_month", "months_since_signup", "retention_rate", "cohort_size"},
    "marts.funnel_daily": {"date_day", "channel", "sessions", "sessions_with_view", "sessions_with_add_to_cart",
                           "sessions_with_checkout", "sessions_with_purchase"},
    "marts.experiment_outcomes": {"experiment_id", "variant", "is_exposed", "converted_after_exposure", "revenue_after_exposure"},
    "ml.revenue_forecast": {"date_day", "metric", "forecast", "lower_80", "upper_80", "lower_95", "upper_95"},
    "ml.metric_anomalies": {"date_day", "metric", "value", "expected", "deviation_pct", "severity", "is_anomaly"},
    "ml.churn_scores": {"churn_probability", "risk_band", "scored_at"},
    "ml.experiment_results": {"experiment_id", "metric", "variant", "control_variant", "control_value", "variant_value",
                              "relative_lift", "ci_low", "ci_high", "p_value", "significant", "srm_detected", "verdict"},
}
MAX_COHORTS = 24
CHURN_BINS = 20
MAX_EXPERIMENT_ROWS = 60


@dataclass
class Overview:
    """Everything the page draws, already aggregated."""

    marts: set[str] = field(default_factory=set)
    ml: set[str] = field(default_factory=set)
    last_day: dt.date | None = None
    kpi_now: dict[str, Any] = field(default_factory=dict)
    kpi_before: dict[str, Any] = field(default_factory=dict)
    daily: list[tuple] = field(default_factory=list)  # day, revenue, orders
    by_channel: list[tuple] = field(default_factory=list)  # week, channel, revenue
    forecast: list[tuple] = field(default_factory=list)  # day, forecast, lo80, hi80, lo95, hi95
    anomalies: list[tuple] = field(default_factory=list)  # day, metric, value, expected, severity, deviation
    cohorts: list[tuple] = field(default_factory=list)  # cohort_month, months_since, retention, size
    funnel: dict[str, int] = field(default_factory=dict)
    funnel_by_channel: list[tuple] = field(default_factory=list)  # channel, sessions, purchase sessions
    experiments: list[tuple] = field(default_factory=list)  # experiment, variant, assigned, exposed, converted, revenue
    experiment_results: list[dict[str, Any]] = field(default_factory=list)  # rows of ml.experiment_results
    churn_bins: list[tuple] = field(default_factory=list)  # bin start, band, customers
    churn_bands: dict[str, int] = field(default_factory=dict)
    churn_scored_at: Any = None

    @property
    def missing(self) -> list[str]:
        """The inputs the page was drawn without, as ``schema.table``."""
        return sorted({*(f"marts.{m}" for m in set(MARTS) - self.marts), *(f"ml.{m}" for m in set(ML) - self.ml)})


def _kpis(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> dict[str, Any]:
    row = con.execute("""
        SELECT sum(revenue)::DOUBLE, sum(orders), sum(orders_not_cancelled), sum(new_customers), sum(sessions),
               sum(converting_sessions), sum(ad_spend)::DOUBLE
        FROM marts.fct_daily_revenue WHERE date_day BETWEEN ? AND ?""", [start, end]).fetchone()
    revenue, orders, kept, new, sessions, converting, spend = row
    return {
        "revenue": revenue, "orders": orders, "new_customers": new, "sessions": sessions,
        "aov": revenue / kept if revenue is not None and kept else None,
        "conversion": converting / sessions if sessions else None,
        "roas": revenue / spend if revenue is not None and spend else None,
    }


def _pick(columns: set[str], *names: str) -> str | None:
    return next((n for n in names if n in columns), None)


def _forecast(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    cols = columns_of(con, "ml", "revenue_forecast")
    day = _pick(cols, "date_day", "ds", "date", "day")
    point = _pick(cols, "forecast", "yhat", "predicted", "prediction", "revenue_forecast", "value")
    if not day or not point:
        return []
    bounds = [_pick(cols, *names) for names in (("lower_80", "lo_80", "yhat_lower_80"), ("upper_80", "hi_80", "yhat_upper_80"),
                                                ("lower_95", "lo_95", "yhat_lower", "lower"), ("upper_95", "hi_95", "yhat_upper", "upper"))]
    select = ", ".join([f"CAST({day} AS DATE)", f"{point}::DOUBLE"] + [f"{b}::DOUBLE" if b else "NULL" for b in bounds])
    where = "WHERE metric = 'revenue'" if "metric" in cols else ""
    return con.execute(f"SELECT {select} FROM ml.revenue_forecast {where} ORDER BY 1").fetchall()


def _anomalies(con: duckdb.DuckDBPyConnection, since: dt.date) -> list[tuple]:
    cols = columns_of(con, "ml", "metric_anomalies")
    if not {"date_day", "metric", "value"} <= cols:
        return []
    flag = "is_anomaly" if "is_anomaly" in cols else ("severity <> 'none'" if "severity" in cols else "false")
    severity = "severity" if "severity" in cols else "'high'"
    expected = "expected::DOUBLE" if "expected" in cols else "NULL"
    deviation = "deviation_pct::DOUBLE" if "deviation_pct" in cols else "NULL"
    return con.execute(f"""
        SELECT CAST(date_day AS DATE), metric, value::DOUBLE, {expected}, {severity}, {deviation}
        FROM ml.metric_anomalies WHERE {flag} AND CAST(date_day AS DATE) >= ? ORDER BY 1, 2""", [since]).fetchall()


def _experiment_results(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cur = con.execute(f"SELECT * FROM ml.experiment_results LIMIT {MAX_EXPERIMENT_ROWS}")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=False)) for row in cur.fetchall()]


def _churn(con: duckdb.DuckDBPyConnection, overview: Overview) -> None:
    cols = columns_of(con, "ml", "churn_scores")
    if "churn_probability" not in cols:
        return
    band = "risk_band" if "risk_band" in cols else "'all'"
    overview.churn_bins = con.execute(f"""
        SELECT least(floor(churn_probability * {CHURN_BINS}), {CHURN_BINS - 1}) / {CHURN_BINS} AS bin, {band} AS band, count(*)
        FROM ml.churn_scores WHERE churn_probability IS NOT NULL GROUP BY ALL ORDER BY bin, band""").fetchall()
    overview.churn_bands = dict(con.execute(f"SELECT {band}, count(*) FROM ml.churn_scores GROUP BY ALL").fetchall())
    if "scored_at" in cols:
        overview.churn_scored_at = con.execute("SELECT max(scored_at) FROM ml.churn_scores").fetchone()[0]


def _revenue(con: duckdb.DuckDBPyConnection, o: Overview) -> None:
    end = o.last_day
    o.kpi_now = _kpis(con, end - dt.timedelta(days=WINDOW_DAYS - 1), end)
    o.kpi_before = _kpis(con, end - dt.timedelta(days=2 * WINDOW_DAYS - 1), end - dt.timedelta(days=WINDOW_DAYS))
    since = end - dt.timedelta(days=TREND_DAYS - 1)
    o.daily = con.execute("""
        SELECT date_day, sum(revenue)::DOUBLE, sum(orders) FROM marts.fct_daily_revenue
        WHERE date_day BETWEEN ? AND ? GROUP BY 1 ORDER BY 1""", [since, end]).fetchall()
    # whole weeks only: a partial first or last week would read as a drop
    o.by_channel = con.execute("""
        WITH daily AS (
            SELECT CAST(date_trunc('week', date_day) AS DATE) AS week, date_day, channel, revenue
            FROM marts.fct_daily_revenue WHERE date_day BETWEEN ? AND ?
        ), whole AS (SELECT week FROM daily GROUP BY week HAVING count(DISTINCT date_day) = 7)
        SELECT week, channel, sum(revenue)::DOUBLE FROM daily JOIN whole USING (week) GROUP BY ALL ORDER BY week, channel""",
        [since, end]).fetchall()
    if "revenue_forecast" in o.ml:
        o.forecast = _forecast(con)
    if "metric_anomalies" in o.ml:
        o.anomalies = _anomalies(con, since)


def _funnel(con: duckdb.DuckDBPyConnection, o: Overview) -> None:
    end = con.execute("SELECT max(date_day) FROM marts.funnel_daily").fetchone()[0]
    if end is None:
        return
    start = end - dt.timedelta(days=WINDOW_DAYS - 1)
    row = con.execute("""
        SELECT sum(sessions), sum(sessions_with_view), sum(sessions_with_add_to_cart), sum(sessions_with_checkout),
               sum(sessions_with_purchase) FROM marts.funnel_daily WHERE date_day BETWEEN ? AND ?""", [start, end]).fetchone()
    o.funnel = dict(zip(("Sessions", "Viewed a product", "Added to cart", "Checked out", "Purchased"), (int(v or 0) for v in row), strict=False))
    o.funnel_by_channel = con.execute("""
        SELECT channel, sum(sessions), sum(sessions_with_purchase) FROM marts.funnel_daily
        WHERE date_day BETWEEN ? AND ? GROUP BY 1 ORDER BY 1""", [start, end]).fetchall()


def gather(con: duckdb.DuckDBPyConnection) -> Overview:
    """Everything the page draws, from the tables that exist."""
    o = Overview(marts=existing_tables(con, "marts") & set(MARTS), ml=existing_tables(con, "ml") & set(ML))
    if "fct_daily_revenue" in o.marts:
        o.last_day = con.execute("SELECT max(date_day) FROM marts.fct_daily_revenue WHERE orders > 0").fetchone()[0]
    if o.last_day is not None:
        _revenue(con, o)
    if "customer_cohorts" in o.marts:
        o.cohorts = con.execute(f"""
            WITH recent AS (SELECT DISTINCT cohort_month FROM marts.customer_cohorts ORDER BY cohort_month DESC LIMIT {MAX_COHORTS})
            SELECT c.cohort_month, c.months_since_signup, c.retention_rate::DOUBLE, c.cohort_size
            FROM marts.customer_cohorts c JOIN recent USING (cohort_month) ORDER BY 1, 2""").fetchall()
    if "funnel_daily" in o.marts:
        _funnel(con, o)
    if "experiment_outcomes" in o.marts:
        o.experiments = con.execute("""
            SELECT experiment_id, variant, count(*), count(*) FILTER (WHERE is_exposed),
                   count(*) FILTER (WHERE is_exposed AND converted_after_exposure),
                   coalesce(sum(revenue_after_exposure) FILTER (WHERE is_exposed), 0)::DOUBLE
            FROM marts.experiment_outcomes GROUP BY ALL ORDER BY 1, 2""").fetchall()
    if "experiment_results" in o.ml:
        o.experiment_results = _experiment_results(con)
    if "churn_scores" in o.ml:
        _churn(con, o)
    return o

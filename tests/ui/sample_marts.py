"""Small synthetic marts and ML tables (same names and columns as the real ones), built in SQL in
a second: the dashboard tests draw from them instead of running ingestion + dbt + training."""

from __future__ import annotations

from analytics_platform.resources import WarehouseResource

DAYS = 120
START = "2026-01-01"
FORECAST_DAYS = 14
ANOMALY_DAYS = ("2026-02-14", "2026-04-02")  # revenue spikes the fake detector flags
CUSTOMERS = 2000

SQL = f"""
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS ml;

CREATE OR REPLACE TABLE marts.fct_daily_revenue AS
WITH cells AS (
    SELECT CAST(DATE '{START}' + INTERVAL (d) DAY AS DATE) AS date_day, channel, country_code, d,
           hash(d, channel, country_code) % 100 AS noise
    FROM range({DAYS}) t(d),
         (VALUES ('email'), ('organic'), ('paid_search'), ('paid_social'), ('referral')) c(channel),
         (VALUES ('DE'), ('FR'), ('NL')) k(country_code)
)
SELECT date_day, channel, country_code,
       (20 + noise % 7 + CASE WHEN CAST(date_day AS VARCHAR) IN {ANOMALY_DAYS} THEN 30 ELSE 0 END)::BIGINT AS orders,
       (19 + noise % 7)::BIGINT AS orders_not_cancelled, 1::BIGINT AS cancelled_orders, 0::BIGINT AS returned_orders,
       CAST((20 + noise % 7 + CASE WHEN CAST(date_day AS VARCHAR) IN {ANOMALY_DAYS} THEN 30 ELSE 0 END) * (55 + d / 10) AS DECIMAL(18, 2)) AS revenue,
       (40 + noise % 9)::BIGINT AS items_sold, (18 + noise % 5)::BIGINT AS customers, (5 + noise % 3)::BIGINT AS new_customers,
       (400 + noise)::BIGINT AS sessions, (21 + noise % 6)::BIGINT AS converting_sessions,
       CAST(CASE WHEN channel = 'organic' THEN 0 ELSE 300 + noise END AS DECIMAL(18, 2)) AS ad_spend,
       (5000 + noise * 10)::BIGINT AS impressions, (300 + noise)::BIGINT AS clicks,
       round(55 + d / 10, 2)::DOUBLE AS average_order_value, NULL::DOUBLE AS return_on_ad_spend
FROM cells;

CREATE OR REPLACE TABLE marts.customer_cohorts AS
WITH months AS (SELECT CAST(DATE '2025-11-01' + INTERVAL (m) MONTH AS DATE) AS cohort_month, m FROM range(6) t(m))
SELECT a.cohort_month, CAST(a.cohort_month + INTERVAL (k) MONTH AS DATE) AS activity_month, k::INTEGER AS months_since_signup,
       (300 + a.m * 20)::BIGINT AS cohort_size, (0.5 * pow(0.8, k) * (300 + a.m * 20))::BIGINT AS active_customers,
       (0.7 * pow(0.85, k) * (300 + a.m * 20))::BIGINT AS visiting_customers, 0.5 * pow(0.8, k) AS retention_rate,
       100::BIGINT AS orders, CAST(5000 AS DECIMAL(18, 2)) AS revenue, CAST(5000 * (k + 1) AS DECIMAL(18, 2)) AS cumulative_revenue,
       round(5000.0 * (k + 1) / (300 + a.m * 20), 2) AS cumulative_revenue_per_customer
FROM months a, range(6) t(k) WHERE a.cohort_month + INTERVAL (k) MONTH <= DATE '2026-04-01';

CREATE OR REPLACE TABLE marts.funnel_daily AS
SELECT date_day, channel, sum(sessions)::BIGINT AS sessions, sum(sessions)::BIGINT AS sessions_with_view,
       (sum(sessions) * 0.2)::BIGINT AS sessions_with_add_to_cart, (sum(sessions) * 0.11)::BIGINT AS sessions_with_checkout,
       sum(converting_sessions)::BIGINT AS sessions_with_purchase, 1.0 AS view_rate, 0.2 AS add_to_cart_rate, 0.55 AS checkout_rate,
       0.5 AS purchase_rate, sum(converting_sessions) / sum(sessions) AS conversion_rate
FROM marts.fct_daily_revenue GROUP BY ALL;

CREATE OR REPLACE TABLE marts.experiment_outcomes AS
SELECT e.experiment_id, CASE WHEN i % 2 = 0 THEN 'control' ELSE 'treatment' END AS variant, i AS customer_id,
       TIMESTAMP '2026-02-01 00:00:00' AS assigned_at, TIMESTAMP '2026-02-01 00:05:00' AS first_exposed_at,
       's' || i AS exposure_session_id, i % 10 <> 9 AS is_exposed, 0::BIGINT AS orders_after_exposure,
       0::BIGINT AS orders_not_cancelled_after_exposure,
       (hash(i, e.experiment_id) % 100) < CASE WHEN i % 2 = 0 THEN 30 ELSE 30 + e.lift END AS converted_after_exposure,
       CAST(50 AS DECIMAL(18, 2)) AS revenue_after_exposure, NULL::TIMESTAMP AS first_order_after_exposure_at,
       NULL::DOUBLE AS days_to_first_order
FROM (VALUES ('checkout_redesign', 4), ('free_shipping_banner', 0)) e(experiment_id, lift), range(1000) t(i);

CREATE OR REPLACE TABLE ml.revenue_forecast AS
SELECT CAST(DATE '{START}' + INTERVAL ({DAYS} + h) DAY AS DATE) AS date_day, 'revenue' AS metric, 25000.0 + h * 50 AS forecast,
       22000.0 + h * 30 AS lower_80, 28000.0 + h * 70 AS upper_80, 20000.0 AS lower_95, 30000.0 + h * 90 AS upper_95
FROM range({FORECAST_DAYS}) t(h)
UNION ALL
SELECT CAST(DATE '{START}' + INTERVAL ({DAYS} + h) DAY AS DATE), 'orders', 400.0, 350.0, 450.0, 330.0, 470.0 FROM range({FORECAST_DAYS}) t(h);

CREATE OR REPLACE TABLE ml.metric_anomalies AS
SELECT date_day, 'revenue' AS metric, sum(revenue)::DOUBLE AS value, 25000.0 AS expected,
       sum(revenue)::DOUBLE / 25000 - 1 AS deviation_pct, CASE WHEN CAST(date_day AS VARCHAR) IN {ANOMALY_DAYS} THEN 9.0 ELSE 0.3 END AS z_score,
       CASE WHEN CAST(date_day AS VARCHAR) IN {ANOMALY_DAYS} THEN 'high' ELSE 'none' END AS severity,
       CAST(date_day AS VARCHAR) IN {ANOMALY_DAYS} AS is_anomaly, 'up' AS direction, now()::TIMESTAMP AS detected_at
FROM marts.fct_daily_revenue GROUP BY date_day;

CREATE OR REPLACE TABLE ml.churn_scores AS
SELECT i AS customer_id, TIMESTAMP '2026-04-30 23:59:59' AS feature_cutoff, (hash(i) % 1000) / 1000.0 AS churn_probability,
       CASE WHEN (hash(i) % 1000) / 1000.0 >= 0.5 THEN 'high' WHEN (hash(i) % 1000) / 1000.0 >= 0.2 THEN 'medium' ELSE 'low' END AS risk_band,
       'churn' AS model_name, '1' AS model_version, 'run' AS model_run_id, TIMESTAMP '2026-05-01 06:00:00' AS scored_at
FROM range({CUSTOMERS}) t(i);

CREATE OR REPLACE TABLE ml.experiment_results AS
SELECT * FROM (VALUES
    ('checkout_redesign', 'conversion', 'control', 'treatment', 1000, 1000, 0.30, 0.34, 0.04, 0.133, 0.01, 0.26, 0.004, true,
     0.08, 0.61, false, 'treatment converts 13% better (significant)'),
    ('checkout_redesign', 'revenue_per_user', 'control', 'treatment', 1000, 1000, 15.1, 15.9, 0.8, 0.053, -0.04, 0.15, 0.28, false,
     0.11, 0.61, false, 'no detectable difference'),
    ('free_shipping_banner', 'conversion', 'control', 'treatment', 1000, 1000, 0.30, 0.29, -0.01, -0.033, -0.12, 0.06, 0.47, false,
     0.08, 0.95, false, 'no detectable difference')
) t(experiment_id, metric, control_variant, variant, n_control, n_variant, control_value, variant_value, absolute_diff,
    relative_lift, ci_low, ci_high, p_value, significant, mde_relative, srm_p_value, srm_detected, verdict);
"""

ML_TABLES = ("revenue_forecast", "metric_anomalies", "churn_scores", "experiment_results")


def build(warehouse: WarehouseResource, with_ml: bool = True) -> None:
    with warehouse.connect() as con:
        con.execute(SQL)
        if not with_ml:
            for table in ML_TABLES:
                con.execute(f"DROP TABLE ml.{table}")

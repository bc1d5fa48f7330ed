"""``metric_anomalies``: seasonality-aware anomalies on daily revenue, orders and conversion.

The detector is in ``detection.py``; new anomalies go out once through the platform's alerting
(``analytics_platform/defs/quality/alerts.py``).
"""

import datetime as dt
import json

import dagster as dg
import polars as pl

from analytics_platform.defs.quality.alerts import Alert, alerts_source, send_alerts
from analytics_platform.resources import WarehouseResource, warehouse_pool
from analytics_platform.settings import Settings
from ml_assets.anomalies import detection
from ml_assets.common import store
from ml_assets.common.conventions import FCT_DAILY_REVENUE, GROUP, OWNERS, lake_inputs
from ml_assets.common.metadata import md_table, table_metadata

TABLE = "metric_anomalies"
ALERT_KIND = "metric_anomaly"
ALERT_RECENT_DAYS = 3  # only anomalies this close to the newest day are news worth an alert


def publish_alerts(settings: Settings, found: pl.DataFrame, already: set[str]) -> list[str]:
    """Send new recent anomalies through the platform's alerting (alerts.log, webhook).

    Returns the alert keys sent. Alerting is best effort: a failed destination is logged by
    ``send_alerts`` and never fails the asset.
    """
    if found.is_empty():
        return []
    newest = found["date_day"].max()
    rows = [r for r in detection.alert_rows(found, since=newest - dt.timedelta(days=ALERT_RECENT_DAYS - 1))
            if r["alert_key"] not in already]
    if not rows:
        return []
    alerts = [Alert(kind=ALERT_KIND, title=f"Anomaly: {r['subject']}", message=r["message"],
                    severity="ERROR" if r["severity"] in ("high", "critical") else "WARN",
                    asset_key=TABLE, details={k: str(v) for k, v in r.items()}) for r in rows]
    send_alerts(alerts, settings)
    return [r["alert_key"] for r in rows]


def alerted_keys(con, settings: Settings) -> set[str]:
    """The keys of the anomaly alerts already sent, read back from the platform's alert records."""
    if not (alerts := alerts_source(settings)):
        return set()
    rows = con.execute(f"select details from {alerts} where kind = ?", [ALERT_KIND]).fetchall()
    keys = set()
    for (details,) in rows:
        try:
            keys.add(json.loads(details).get("alert_key"))
        except (TypeError, ValueError):
            continue
    return keys


@dg.asset(
    name=TABLE,
    group_name=GROUP,
    owners=OWNERS,
    kinds={"numpy", "duckdb"},
    deps=[FCT_DAILY_REVENUE],
    pool=warehouse_pool("anomalies"),
    automation_condition=dg.AutomationCondition.eager(),
    description=(
        "Every day x metric (revenue, orders, conversion) with its expected value (median of the same weekday "
        "+-1..4 weeks), a robust z-score and a severity (none/low/medium/high/critical; anomaly at |z| >= 4), "
        f"in `lake.ml.{TABLE}`. New anomalies of the last {ALERT_RECENT_DAYS} days are sent as alerts "
        "(alerts.log, webhook). Detector: `ml_assets.anomalies.detection.detect`."
    ),
)
def metric_anomalies(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from ml_assets.common import plots  # matplotlib, only when charts are drawn

    with lake_inputs(warehouse) as con:
        daily = con.execute("select * from ml_in_daily order by date_day").pl()
        found = detection.detect(detection.daily_metrics(daily))
        store.replace_table(con, TABLE, found, detection.COLUMN_DOCS)
        already = alerted_keys(con, warehouse.settings)
    sent = publish_alerts(warehouse.settings, found, already)
    flagged = found.filter(pl.col("is_anomaly")).sort("date_day", descending=True)
    days = detection.anomaly_days(found)
    metadata = {
        **table_metadata(found, TABLE, detection.COLUMN_DOCS),
        "anomalous_points": flagged.height,
        "anomalous_days": days.height,
        "alerts_sent": sent,
        "anomalies": dg.MetadataValue.md(md_table(
            flagged.select("date_day", "metric", "value", "expected", "deviation_pct", "z_score", "severity"), 30)),
    }
    for metric in detection.METRICS:
        metadata[f"{metric}_chart"] = dg.MetadataValue.md(plots.md_image(plots.anomalies(found, metric), metric))
    return dg.MaterializeResult(metadata=metadata)

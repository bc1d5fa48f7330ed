"""``metric_anomalies``: seasonality-aware anomalies on daily revenue, orders and conversion."""

import datetime as dt
import json
import logging

import dagster as dg
import polars as pl

from analytics_platform.resources import WarehouseResource
from analytics_platform.settings import Settings
from ml_assets import anomalies as A
from ml_assets import store
from ml_assets.assets.common import FCT_DAILY_REVENUE, GROUP, OWNERS, POOL, lake_inputs, md_table, table_metadata

TABLE = "metric_anomalies"
ALERT_KIND = "metric_anomaly"
ALERT_RECENT_DAYS = 3  # only anomalies this close to the newest day are news worth an alert
log = logging.getLogger(__name__)


def publish_alerts(settings: Settings, found: pl.DataFrame, already: set[str]) -> list[str]:
    """Send new recent anomalies through the platform's alerting (alerts.log, webhook).

    Returns the alert keys sent. Alerting is best effort: a missing alerts module or a failed
    destination never fails the asset.
    """
    if found.is_empty():
        return []
    newest = found["date_day"].max()
    rows = [r for r in A.alert_rows(found, since=newest - dt.timedelta(days=ALERT_RECENT_DAYS - 1))
            if r["alert_key"] not in already]
    if not rows:
        return []
    try:
        from analytics_platform.defs.quality.alerts import Alert, send_alerts
    except ImportError:  # the quality layer is optional for the ML layer
        log.warning("analytics_platform.defs.quality.alerts not available: %d anomaly alert(s) not sent", len(rows))
        return []
    alerts = [Alert(kind=ALERT_KIND, title=f"Anomaly: {r['subject']}", message=r["message"],
                    severity="ERROR" if r["severity"] in ("high", "critical") else "WARN",
                    asset_key=TABLE, details={k: str(v) for k, v in r.items()}) for r in rows]
    send_alerts(alerts, settings)
    return [r["alert_key"] for r in rows]


def _alerted_keys(con, settings: Settings) -> set[str]:
    from analytics_platform.defs.quality.alerts import alerts_source

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
    pool=POOL,
    automation_condition=dg.AutomationCondition.eager(),
    description=(
        "Every day x metric (revenue, orders, conversion) with its expected value (median of the same weekday "
        "+-1..4 weeks), a robust z-score and a severity (none/low/medium/high/critical; anomaly at |z| >= 4), "
        f"in `lake.ml.{TABLE}`. New anomalies of the last {ALERT_RECENT_DAYS} days are sent as alerts "
        "(alerts.log, webhook). Detector: `ml_assets.anomalies.detect`."
    ),
)
def metric_anomalies(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from ml_assets import plots  # matplotlib, only when charts are drawn

    with lake_inputs(warehouse) as con:
        daily = con.execute("select * from ml_in_daily order by date_day").pl()
        found = A.detect(A.daily_metrics(daily))
        store.replace_table(con, TABLE, found, A.COLUMN_DOCS)
        already = _alerted_keys(con, warehouse.settings)
    sent = publish_alerts(warehouse.settings, found, already)
    flagged = found.filter(pl.col("is_anomaly")).sort("date_day", descending=True)
    days = A.anomaly_days(found)
    metadata = {
        **table_metadata(found, TABLE, A.COLUMN_DOCS),
        "anomalous_points": flagged.height,
        "anomalous_days": days.height,
        "alerts_sent": sent,
        "anomalies": dg.MetadataValue.md(md_table(
            flagged.select("date_day", "metric", "value", "expected", "deviation_pct", "z_score", "severity"), 30)),
    }
    for metric in A.METRICS:
        metadata[f"{metric}_chart"] = dg.MetadataValue.md(plots.md_image(plots.anomalies(found, metric), metric))
    return dg.MaterializeResult(metadata=metadata)

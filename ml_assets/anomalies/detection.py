"""Seasonality-aware anomaly detection on daily business metrics.

For each metric and day, the *expected* value is the median of the same weekday in the four
weeks before and after (days d±7, ±14, ±21, ±28 that exist; only the past ones at the end of the
series, which is what a daily alert sees). Same-weekday neighbours remove the weekly cycle, the
symmetric window cancels slow trend and yearly seasonality, and the median ignores a neighbouring
anomaly. The deviation is measured on the log scale (multiplicative effects), standardised by a
robust spread (1.4826 x MAD of all deviations of that metric):

    z = (ln(value) - ln(expected)) / robust_sd

``severity`` grades |z|: ``none`` below ``Z_ALERT``, then ``low`` / ``medium`` / ``high`` /
``critical``. Rates (conversion) are compared the same way as volumes, on their log.

``detect`` is pure (polars in, polars out); ``alert_rows`` turns findings into rows for the
platform's alerts (alerts.log), so the alerting code can reuse it.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

METRICS = ("revenue", "orders", "conversion")
OFFSETS = (7, 14, 21, 28)
Z_ALERT = 4.0
SEVERITY = ((12.0, "critical"), (8.0, "high"), (6.0, "medium"), (Z_ALERT, "low"))
MAD_TO_SD = 1.4826

COLUMN_DOCS = {
    "date_day": "Day (UTC).",
    "metric": "revenue (EUR, non-cancelled orders by order day), orders (placed), or conversion "
              "(sessions with a purchase / sessions).",
    "value": "Observed value of the metric that day.",
    "expected": "Median of the same weekday at +-7..28 days (past only at the end of the series).",
    "deviation_pct": "value / expected - 1.",
    "z_score": "ln(value / expected) / robust sd of that metric's log deviations.",
    "severity": "none | low (|z| >= 4) | medium (>= 6) | high (>= 8) | critical (>= 12).",
    "is_anomaly": "|z| >= 4.",
    "direction": "up or down.",
    "detected_at": "When the detector ran (UTC).",
}


def daily_metrics(daily: pl.DataFrame) -> pl.DataFrame:
    """Long format (date_day, metric, value) from a frame with revenue, orders, sessions, converting_sessions.

    Missing days inside the range become zeros (a day without orders is a finding, not a gap).
    """
    daily = daily.with_columns(pl.col("date_day").cast(pl.Date)).sort("date_day")
    days = pl.DataFrame({"date_day": pl.date_range(daily["date_day"].min(), daily["date_day"].max(), "1d", eager=True)})
    full = days.join(daily, on="date_day", how="left").fill_null(0)
    wide = full.select(
        "date_day",
        pl.col("revenue").cast(pl.Float64),
        pl.col("orders").cast(pl.Float64),
        (pl.col("converting_sessions") / pl.when(pl.col("sessions") > 0).then(pl.col("sessions"))).alias("conversion"),
    )
    return wide.unpivot(index="date_day", variable_name="metric", value_name="value").sort("metric", "date_day")


def _expected(values: np.ndarray) -> np.ndarray:
    n = values.size
    out = np.full(n, np.nan)
    for i in range(n):
        future_ok = i + OFFSETS[0] < n
        idx = [i - k for k in OFFSETS if i - k >= 0] + ([i + k for k in OFFSETS if i + k < n] if future_ok else [])
        vals = values[idx] if idx else np.array([])
        vals = vals[np.isfinite(vals)]
        if vals.size >= 2:
            out[i] = np.median(vals)
    return out


def detect(long: pl.DataFrame, z_alert: float = Z_ALERT, detected_at: dt.datetime | None = None) -> pl.DataFrame:
    """Score every (day, metric) point of ``daily_metrics`` output; see module docstring."""
    frames = []
    for metric in long["metric"].unique(maintain_order=True).to_list():
        f = long.filter(pl.col("metric") == metric).sort("date_day")
        value = f["value"].cast(pl.Float64).to_numpy()
        logv = np.log(np.where(value > 0, value, np.nan))
        # a zero where something was expected is the most extreme drop: treat as 1% of expected
        expected_log = _expected(logv)
        logv = np.where((value == 0) & np.isfinite(expected_log), expected_log + np.log(0.01), logv)
        dev = logv - expected_log
        ok = np.isfinite(dev)
        spread = MAD_TO_SD * np.median(np.abs(dev[ok] - np.median(dev[ok]))) if ok.sum() >= 5 else np.nan
        spread = spread if spread and spread > 1e-9 else np.nan
        z = dev / spread
        frames.append(pl.DataFrame({
            "date_day": f["date_day"], "metric": metric, "value": value, "expected": np.exp(expected_log),
            "deviation_pct": np.exp(dev) - 1, "z_score": z,
        }))
    out = pl.concat(frames).with_columns(pl.col("z_score").fill_nan(None), pl.col("expected").fill_nan(None),
                                         pl.col("deviation_pct").fill_nan(None))
    return out.with_columns(
        severity=_severity_expr(z_alert),
        is_anomaly=(pl.col("z_score").abs() >= z_alert).fill_null(False),
        direction=pl.when(pl.col("z_score") >= 0).then(pl.lit("up")).otherwise(pl.lit("down")),
        detected_at=pl.lit(detected_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)).cast(pl.Datetime("us")),
    ).sort("date_day", "metric")


def _severity_expr(z_alert: float) -> pl.Expr:
    a = pl.col("z_score").abs()
    expr = pl.lit("none")
    for threshold, name in reversed(SEVERITY):
        expr = pl.when(a >= max(threshold, z_alert)).then(pl.lit(name)).otherwise(expr)
    return expr


def anomaly_days(found: pl.DataFrame) -> pl.DataFrame:
    """One row per flagged day: its metrics and worst severity."""
    rank = {name: i for i, (_, name) in enumerate(SEVERITY)}
    return (found.filter(pl.col("is_anomaly"))
            .group_by("date_day")
            .agg(pl.col("metric").sort(), pl.col("z_score").abs().max().alias("max_abs_z"),
                 pl.col("severity").sort_by(pl.col("severity").replace_strict(rank, default=99)).first())
            .sort("date_day"))


def alert_rows(found: pl.DataFrame, since: dt.date | None = None, source: str = "ml.metric_anomalies") -> list[dict]:
    """Anomalies as alert dicts (one per day and metric), newest first; for the platform's alerts."""
    rows = found.filter(pl.col("is_anomaly"))
    if since is not None:
        rows = rows.filter(pl.col("date_day") >= since)
    return [
        {
            "source": source,
            "alert_key": f"anomaly:{r['metric']}:{r['date_day']}",
            "severity": r["severity"],
            "subject": f"{r['metric']} on {r['date_day']}",
            "message": (f"{r['metric']} on {r['date_day']} was {r['value']:,.4g} vs {r['expected']:,.4g} expected "
                        f"({r['deviation_pct']:+.0%}, z = {r['z_score']:+.1f}, {r['severity']})"),
            "metric": r["metric"], "date_day": r["date_day"], "z_score": r["z_score"],
        }
        for r in rows.sort("date_day", descending=True).iter_rows(named=True)
    ]


def evaluate(found: pl.DataFrame, truth_anomalies: list[dict]) -> dict:
    """Day-level precision/recall against planted anomalies (``_ground_truth.json['anomalies']``)."""
    flagged = set(anomaly_days(found)["date_day"].to_list())
    planted = {dt.date.fromisoformat(a["date"]) for a in truth_anomalies}
    tp = len(flagged & planted)
    return {
        "precision": tp / len(flagged) if flagged else 1.0,
        "recall": tp / len(planted) if planted else 1.0,
        "flagged": sorted(flagged), "planted": sorted(planted),
        "false_positives": sorted(flagged - planted), "missed": sorted(planted - flagged),
    }

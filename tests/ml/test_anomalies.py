"""Planted anomaly days are found with precision and recall >= 0.9."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from analytics_platform.sample_data import generate
from ml_assets.anomalies import detection

from .conftest import relations

# Five planted days per run is too few to measure 0.9 on one run (one miss = 0.8): pool six seeds.
SEEDS = range(42, 48)


def _detect(tables) -> pl.DataFrame:
    con = relations(tables)
    try:
        return detection.detect(detection.daily_metrics(con.execute("select * from ml_in_daily").pl()))
    finally:
        con.close()


@pytest.fixture(scope="module")
def runs(shop):
    out = []
    for seed in SEEDS:
        # seed 42 is the suite's shared shop (same scale and days), generated once per session
        data = shop if seed == shop.seed else generate(seed=seed, scale=shop.scale, days=shop.days)
        out.append((data.ground_truth["anomalies"], _detect(data.tables)))
    return out


def test_precision_and_recall_over_planted_days(runs):
    tp = flagged = planted = 0
    for truth, found in runs:
        e = detection.evaluate(found, truth)
        tp += len(set(e["flagged"]) & set(e["planted"]))
        flagged += len(e["flagged"])
        planted += len(e["planted"])
    precision, recall = tp / flagged, tp / planted
    assert planted == 5 * len(SEEDS)
    assert precision >= 0.9 and recall >= 0.9, (precision, recall)


def test_each_planted_day_moves_the_metrics_the_truth_names(runs):
    for truth, found in runs:
        for a in truth:
            day = found.filter((pl.col("date_day") == dt.date.fromisoformat(a["date"])) & pl.col("is_anomaly"))
            if day.is_empty():
                continue
            assert set(day["metric"]) <= set(a["metrics"]) | {"conversion"}
            assert set(day["direction"]) == {a["direction"]}


def test_severity_and_alert_rows(runs):
    _, found = runs[0]
    assert found.filter(pl.col("is_anomaly"))["severity"].is_in(["low", "medium", "high", "critical"]).all()
    assert (found.filter(~pl.col("is_anomaly"))["severity"] == "none").all()
    rows = detection.alert_rows(found)
    assert rows and all(r["alert_key"].startswith("anomaly:") and r["message"] for r in rows)
    assert detection.alert_rows(found, since=found["date_day"].max() + dt.timedelta(days=1)) == []


def test_a_day_without_orders_is_the_strongest_drop():
    days = pl.date_range(dt.date(2026, 1, 1), dt.date(2026, 3, 1), "1d", eager=True)
    daily = pl.DataFrame({"date_day": days, "revenue": 1000.0, "orders": 20, "sessions": 400,
                          "converting_sessions": 20}).with_columns(
        (pl.col("revenue") * (1 + 0.05 * (pl.int_range(0, pl.len()) % 3))).alias("revenue"),
        (pl.col("orders") + pl.int_range(0, pl.len()) % 4).alias("orders"))
    daily = daily.filter(pl.col("date_day") != dt.date(2026, 2, 1))  # a day with no orders at all
    found = detection.detect(detection.daily_metrics(daily))
    hole = found.filter((pl.col("date_day") == dt.date(2026, 2, 1)) & (pl.col("metric") == "orders")).row(0, named=True)
    assert hole["is_anomaly"] and hole["direction"] == "down" and hole["severity"] == "critical"

"""The ground truth agrees with what was actually written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from analytics_platform.sample_data import generate
from analytics_platform.sample_data.experiment import is_treatment

from .conftest import DAYS, SCALE, SEED


def _daily(shop) -> pl.DataFrame:
    return pl.DataFrame(shop.ground_truth["daily"]).with_columns(pl.col("date").str.to_date())


def test_revenue_and_orders_recomputed_from_files(shop, landing: Path) -> None:
    """Dedup orders by PK keeping the latest updated_at, drop cancelled, sum by ordered_at day."""
    got = duckdb.sql(f"""
        WITH o AS (
            SELECT * FROM read_parquet('{landing}/shop/orders/*.parquet')
            QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY updated_at DESC) = 1)
        SELECT CAST(ordered_at AS DATE) AS date,
               sum(order_total) FILTER (WHERE status <> 'cancelled') AS revenue,
               count(*) AS orders,
               count(*) FILTER (WHERE status <> 'cancelled') AS orders_not_cancelled
        FROM o GROUP BY 1 ORDER BY 1
    """).pl()
    truth = _daily(shop)
    assert got["date"].to_list() == truth["date"].to_list()
    assert (got["revenue"].cast(pl.Float64) * 100).round().cast(pl.Int64).to_list() == \
        (truth["revenue"] * 100).round().cast(pl.Int64).to_list()
    assert got["orders"].to_list() == truth["orders"].to_list()
    assert got["orders_not_cancelled"].to_list() == truth["orders_not_cancelled"].to_list()
    assert shop.ground_truth["totals"]["revenue"] == round(float(truth["revenue"].sum()), 2)


def test_order_totals_equal_sum_of_items(landing: Path) -> None:
    bad = duckdb.sql(f"""
        WITH o AS (SELECT DISTINCT order_id, order_total FROM read_parquet('{landing}/shop/orders/*.parquet')),
             i AS (SELECT order_id, sum(quantity * unit_price) AS s FROM read_parquet('{landing}/shop/order_items/*.parquet') GROUP BY 1)
        SELECT count(*) FILTER (WHERE i.s IS NULL OR i.s <> o.order_total), count(*) FROM o LEFT JOIN i USING (order_id)
    """).fetchone()
    assert bad[0] == 0 and bad[1] > 1000


def test_sessions_per_day_match(shop) -> None:
    s = shop.tables["web.sessions"].group_by(pl.col("started_at").dt.date().alias("date")).len().sort("date")
    assert s["len"].to_list() == _daily(shop)["sessions"].to_list()


def test_anomalies_stand_out_against_weekday_neighbours(shop) -> None:
    """Each planted effect shows up against the same weekday 1-2 weeks around it.

    The observed ratio must cover at least 40% of the planted multiplier in
    log space (e.g. promo x1.8 -> ratio > 1.8**0.4 = 1.27), which leaves room
    for Poisson and basket-size noise at test scale.
    """
    daily = _daily(shop).with_columns(conversion=pl.col("orders") / pl.col("sessions"))
    by_date = {r["date"]: r for r in daily.iter_rows(named=True)}
    anomalies = shop.ground_truth["anomalies"]
    assert len(anomalies) == 4 and {a["type"] for a in anomalies} == {"outage", "promo", "payment_bug", "traffic_surge"}
    days = {dt.date.fromisoformat(a["date"]) for a in anomalies}
    for a in anomalies:
        day = dt.date.fromisoformat(a["date"])
        ref = [d for d in (day + dt.timedelta(days=k) for k in (-14, -7, 7, 14)) if d in by_date and d not in days]
        assert len(ref) >= 2
        for metric in a["metrics"]:
            ratio = by_date[day][metric] / np.mean([by_date[d][metric] for d in ref])
            progress = np.log(ratio) / np.log(a["magnitude"])
            assert progress > 0.4, (a, metric, ratio)
            assert (ratio > 1) == (a["direction"] == "up")


def test_experiment_truth_matches_files(shop, landing: Path) -> None:
    exp = shop.ground_truth["experiment"]
    a = pl.read_ndjson(list((landing / "experiments" / "assignments").glob("*.ndjson")))
    x = pl.read_ndjson(list((landing / "experiments" / "exposures").glob("*.ndjson")))
    counts = dict(a.group_by("variant").len().iter_rows())
    assert counts == exp["assigned"]
    n = a.height
    assert abs(counts["treatment"] - n / 2) < 4 * np.sqrt(n / 4)  # 50/50 within 4 sigma
    assert a["customer_id"].n_unique() == n == x.height == x["customer_id"].n_unique()
    assert ((a["variant"] == "treatment").to_numpy() == is_treatment(a["customer_id"].to_numpy())).all()

    # exposure = the customer's first session inside the window
    start, end = dt.date.fromisoformat(exp["start_date"]), dt.date.fromisoformat(exp["end_date"])
    sess = shop.tables["web.sessions"].filter(
        pl.col("customer_id").is_not_null(), pl.col("started_at").dt.date().is_between(start, end))
    first = sess.sort("started_at").group_by("customer_id").first()
    joined = x.join(first, on="customer_id")
    assert joined.height == n and (joined["session_id"] == joined["session_id_right"]).all()

    # observed conversion recomputed from orders of in-window sessions
    orders = shop.tables["shop.orders"].unique("order_id").join(
        sess.select("session_id"), on="session_id")
    converted = a.join(orders.select("customer_id").unique(), on="customer_id")
    assert dict(converted.group_by("variant").len().iter_rows()) == exp["converted"]
    lift = exp["true_relative_lift"]
    assert 0 < lift < exp["purchase_prob_multiplier"] - 1
    assert exp["expected_conversion"]["treatment"] > exp["expected_conversion"]["control"] > 0.05


def test_no_activity_after_churn_or_before_signup(shop) -> None:
    ct = shop.customer_truth
    s = shop.tables["web.sessions"].filter(pl.col("customer_id").is_not_null()).join(
        ct.select("customer_id", "churned_at", "signed_up_at"), on="customer_id")
    assert s.filter(pl.col("started_at") >= pl.col("churned_at")).height == 0
    assert s.filter(pl.col("started_at") < pl.col("signed_up_at")).height == 0
    summary = shop.ground_truth["churn"]["summary"]
    assert summary["churned"] == ct["churned_at"].is_not_null().sum() > 0.1 * ct.height


def test_churn_is_predictable_from_observable_behaviour(shop) -> None:
    """A plain logistic regression on RFM + returns + channel reaches AUC >= 0.8.

    Population: customers with a session before the cutoff; label: churned
    (ground truth) before cutoff + 30 days; features only from data < cutoff.
    """
    start = dt.datetime.fromisoformat(shop.ground_truth["generator"]["start_date"])
    cutoff, horizon = start + dt.timedelta(days=40), dt.timedelta(days=30)
    s = shop.tables["web.sessions"].filter(pl.col("customer_id").is_not_null(), pl.col("started_at") < cutoff)
    o = (shop.tables["shop.orders"].filter(pl.col("updated_at") < cutoff).sort("updated_at")
         .unique("order_id", keep="last"))
    f = (s.group_by("customer_id").agg(last=pl.col("started_at").max(), freq=pl.len())
         .join(o.group_by("customer_id").agg(n=pl.len(), m=pl.col("order_total").cast(pl.Float64).sum(),
                                              bad=pl.col("status").is_in(["returned", "cancelled"]).any()),
               on="customer_id", how="left")
         .join(shop.customer_truth.select("customer_id", "acquisition_channel", "churned_at"), on="customer_id")
         .with_columns(pl.col("n", "m").fill_null(0), pl.col("bad").fill_null(False),
                       rec=(pl.lit(cutoff) - pl.col("last")).dt.total_seconds() / 86400))
    y = (f["churned_at"].is_not_null() & (f["churned_at"] < cutoff + horizon)).to_numpy().astype(float)
    X = np.column_stack([np.ones(f.height), np.log1p(f["rec"]), np.log1p(f["freq"]), np.log1p(f["n"]),
                         np.log1p(f["m"]), f["bad"].cast(pl.Float64)]
                        + [(f["acquisition_channel"] == c).cast(pl.Float64) for c in
                           ("paid_search", "paid_social", "email", "referral")])
    train = np.random.default_rng(0).random(f.height) < 0.7
    w = np.zeros(X.shape[1])
    for _ in range(25):  # Newton-Raphson
        p = 1 / (1 + np.exp(-X[train] @ w))
        hess = (X[train] * (p * (1 - p))[:, None]).T @ X[train] + 1e-6 * np.eye(w.size)
        w -= np.linalg.solve(hess, X[train].T @ (p - y[train]))
    score, yv = X[~train] @ w, y[~train]
    ranks = np.argsort(np.argsort(score)) + 1
    auc = (ranks[yv == 1].sum() - yv.sum() * (yv.sum() + 1) / 2) / (yv.sum() * (yv.size - yv.sum()))
    assert 0.1 < y.mean() < 0.6
    assert auc >= 0.8, auc


def test_volume_scales_to_about_a_million_events_per_unit() -> None:
    shop = generate(seed=11, scale=0.1, days=120)
    n = shop.ground_truth["row_counts"]["web.events"]
    assert 80_000 < n < 125_000  # ~1M at scale 1


def test_ground_truth_json_written(shop, landing: Path) -> None:
    import json

    gt = json.loads((landing / "_ground_truth.json").read_text())
    assert gt == json.loads(json.dumps(shop.ground_truth))
    assert gt["generator"] == {"package": "analytics_platform.sample_data", "seed": SEED, "scale": SCALE,
                               "days": DAYS, "start_date": "2026-01-01", "end_date": "2026-03-11"}
    ct = pl.read_parquet(landing / gt["churn"]["per_customer_file"])
    assert ct.height == gt["churn"]["summary"]["customers"]

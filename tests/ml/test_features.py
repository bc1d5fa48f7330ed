"""Customer features are point-in-time correct: nothing after the cutoff moves them."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from ml_assets.churn import features
from ml_assets.common.history import NotEnoughHistory

from .conftest import relations

LABELS = ["churned", "label_observed"]


def _features(tables: dict[str, pl.DataFrame], cutoff: dt.datetime, start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
    con = relations(tables)
    try:
        return features.compute_features(con, cutoff, history_start=start, data_end=end)
    finally:
        con.close()


def _perturb_after(tables: dict[str, pl.DataFrame], cutoff: dt.datetime) -> dict[str, pl.DataFrame]:
    """Rewrite everything that happens at or after ``cutoff`` (and only that)."""
    t = dict(tables)
    day = dt.timedelta(days=1)
    sessions = t["web.sessions"]
    before = sessions.filter(pl.col("started_at") < cutoff)
    logged_in = before.filter(pl.col("customer_id").is_not_null())
    # future sessions: drop the real ones, invent others for customers seen before the cutoff
    fake_sessions = logged_in.head(3000).with_columns(
        pl.format("fake-{}", pl.col("session_id")).alias("session_id"),
        (pl.lit(cutoff) + pl.duration(hours=pl.int_range(0, pl.len()) % 500)).alias("started_at"))
    t["web.sessions"] = pl.concat([before, fake_sessions])

    orders = t["shop.orders"]
    # every version delivered after the cutoff turns into an expensive return
    orders = orders.with_columns(
        pl.when(pl.col("updated_at") >= cutoff).then(pl.lit("returned")).otherwise(pl.col("status")).alias("status"),
        pl.when(pl.col("updated_at") >= cutoff).then(pl.col("order_total") * 10).otherwise(pl.col("order_total"))
        .alias("order_total"))
    # ... and new orders placed after the cutoff, some attached to sessions begun before it
    fake_orders = orders.filter(pl.col("ordered_at") < cutoff).head(2000).with_columns(
        (pl.col("order_id") + 10_000_000).alias("order_id"),
        (pl.lit(cutoff) + pl.duration(minutes=pl.int_range(0, pl.len()))).alias("ordered_at"),
        (pl.lit(cutoff) + pl.duration(minutes=pl.int_range(0, pl.len()))).alias("updated_at"),
        pl.lit("cancelled").alias("status"))
    fake_orders = fake_orders.with_columns(
        pl.when(pl.int_range(0, pl.len()) % 2 == 0).then(pl.col("session_id")).otherwise(None).alias("session_id"))
    t["shop.orders"] = pl.concat([orders, fake_orders])

    customers = t["shop.customers"]
    moved = customers.filter(pl.col("signed_up_at") < cutoff).head(500).with_columns(
        pl.lit("PL").alias("country_code"), pl.lit(cutoff + day).alias("updated_at"))
    newcomers = customers.head(200).with_columns(
        (pl.col("customer_id") + 10_000_000).alias("customer_id"),
        pl.lit(cutoff + day).alias("signed_up_at"), pl.lit(cutoff + day).alias("updated_at"))
    t["shop.customers"] = pl.concat([customers, moved, newcomers])
    return t


@pytest.fixture(scope="module")
def cutoff(churn_split) -> dt.datetime:
    return churn_split.train_cutoffs[-1]


@pytest.fixture(scope="module")
def original(shop, churn_split, cutoff) -> pl.DataFrame:
    return _features(shop.tables, cutoff, churn_split.history_start, churn_split.data_end)


def test_perturbing_post_cutoff_data_does_not_move_features(shop, churn_split, cutoff, original):
    perturbed = _features(_perturb_after(shop.tables, cutoff), cutoff, churn_split.history_start, churn_split.data_end)
    assert perturbed.height == original.height > 1000
    diff = [c for c in original.columns if c not in LABELS and not original[c].equals(perturbed[c])]
    assert not diff, (diff, original.select(diff).head(3), perturbed.select(diff).head(3))
    # the perturbation was real: the labels (which look after the cutoff) did change
    changed = original.join(perturbed, on="customer_id", suffix="_p").filter(pl.col("churned") != pl.col("churned_p"))
    assert changed.height > 100


def test_perturbing_pre_cutoff_data_does_move_features(shop, churn_split, cutoff, original):
    """Control for the test above: the comparison is sensitive to the data it reads."""
    t = dict(shop.tables)
    t["web.sessions"] = t["web.sessions"].filter(
        (pl.col("started_at") < cutoff - dt.timedelta(days=7)) | (pl.col("started_at") >= cutoff))
    moved = _features(t, cutoff, churn_split.history_start, churn_split.data_end)
    joined = original.join(moved, on="customer_id", suffix="_m")
    assert joined.filter(pl.col("sessions_7d") != pl.col("sessions_7d_m")).height > 100


def test_label_is_the_30_days_after_the_cutoff(shop, churn_split, cutoff, original):
    sessions = shop.tables["web.sessions"]
    window = sessions.filter((pl.col("started_at") >= cutoff) & (pl.col("started_at") < cutoff + dt.timedelta(days=30)))
    active = set(window["customer_id"].drop_nulls().to_list())
    labels = dict(zip(original["customer_id"].to_list(), original["churned"].to_list(), strict=False))
    assert all(labels[c] == 0 for c in active if c in labels)
    assert all(v == 1 for c, v in labels.items() if c not in active)
    # the population: signed up before the cutoff and active in the 30 days before it (or new)
    assert (original["days_since_last_session"].min() >= 0)
    assert original.filter((pl.col("days_since_last_session") > 30) & (pl.col("tenure_days") > 30)
                           & (pl.col("days_since_last_order") > 30)).is_empty()


def test_time_based_split_never_overlaps(churn_split):
    horizon = dt.timedelta(days=features.HORIZON_DAYS)
    assert churn_split.validation_cutoff + horizon == churn_split.data_end
    assert all(c + horizon <= churn_split.validation_cutoff for c in churn_split.train_cutoffs)
    assert churn_split.train["churned"].null_count() == 0 and churn_split.validation["churned"].null_count() == 0


def test_every_column_is_documented(original):
    assert set(original.columns) <= set(features.COLUMN_DOCS)
    assert set(features.FEATURE_NAMES) <= set(original.columns)


def test_time_split_needs_two_label_windows_and_a_month_before():
    start = dt.datetime(2026, 1, 1)
    need = features.required_history_days()
    assert need == features.MIN_HISTORY_DAYS + 2 * features.HORIZON_DAYS == 90
    train, validation = features.training_cutoffs(start, start + dt.timedelta(days=need))
    assert train == [start + dt.timedelta(days=features.MIN_HISTORY_DAYS)]
    assert validation == start + dt.timedelta(days=60)
    with pytest.raises(NotEnoughHistory, match=f"have {need - 1} days, need {need}"):
        features.training_cutoffs(start, start + dt.timedelta(days=need - 1))
    with pytest.raises(NotEnoughHistory, match="have 30 days, need 110"):
        features.training_cutoffs(start, start + dt.timedelta(days=30), horizon_days=40)

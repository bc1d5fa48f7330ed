"""Marts against the generator: its ground truth, and an independent polars recomputation of its
own landing rows (every delivered version, duplicates included, as the files carry them)."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
from polars.testing import assert_frame_equal

from .support import query


def latest(df: pl.DataFrame, key: str | list[str], version: str) -> pl.DataFrame:
    """Latest delivered version per key, the generator's way: newest version column, then file."""
    return df.sort([version, "_file_date"]).group_by(key, maintain_order=True).last()


def test_daily_revenue_orders_and_sessions_equal_ground_truth(built, shop):
    marts = query(built.state, """
        SELECT date_day, sum(revenue) AS revenue, sum(orders) AS orders,
               sum(orders_not_cancelled) AS orders_not_cancelled, sum(sessions) AS sessions
        FROM marts.fct_daily_revenue GROUP BY date_day ORDER BY date_day
    """)
    truth = {d["date"]: d for d in shop.truth["daily"]}
    assert [str(d) for d in marts["date_day"]] == list(truth)
    for row in marts.iter_rows(named=True):
        expected = truth[str(row["date_day"])]
        assert row["revenue"] == Decimal(str(expected["revenue"])).quantize(Decimal("0.01")), row["date_day"]
        assert (row["orders"], row["orders_not_cancelled"], row["sessions"]) == (
            expected["orders"], expected["orders_not_cancelled"], expected["sessions"]), row["date_day"]
    assert sum(marts["revenue"]) == Decimal(str(shop.truth["totals"]["revenue"])).quantize(Decimal("0.01"))


def test_daily_revenue_cells_equal_polars_recomputation(built, shop):
    orders = latest(shop.data.tables["shop.orders"], "order_id", "updated_at").with_columns(
        date_day=pl.col("ordered_at").dt.date(), ok=pl.col("status") != "cancelled"
    )
    expected = (
        orders.group_by("date_day", "channel", "country_code")
        .agg(
            orders=pl.len(),
            revenue=pl.col("order_total").filter(pl.col("ok")).sum(),
            customers=pl.col("customer_id").filter(pl.col("ok")).n_unique(),
        )
        .with_columns(pl.col("orders").cast(pl.Int64), pl.col("customers").cast(pl.Int64))
        .sort("date_day", "channel", "country_code")
    )
    actual = query(built.state, """
        SELECT date_day, channel, country_code, orders, revenue, customers
        FROM marts.fct_daily_revenue WHERE orders > 0 ORDER BY ALL
    """).with_columns(pl.col("revenue").cast(pl.Decimal(38, 2)))
    assert_frame_equal(actual, expected.with_columns(pl.col("revenue").cast(pl.Decimal(38, 2))), check_dtypes=False)


def test_customer_counts_equal_truth(built, shop):
    customers = query(built.state, "SELECT count(*) AS n, count(DISTINCT email_hash) AS emails FROM marts.dim_customers")
    expected = shop.truth["data_quality"]["customers"]["customers"]
    assert customers["n"][0] == expected == shop.data.tables["shop.customers"]["customer_id"].n_unique()
    # PII never reaches the marts
    columns = query(built.state, """
        SELECT column_name FROM duckdb_columns()
        WHERE database_name = 'lake' AND schema_name IN ('staging', 'intermediate', 'marts', 'snapshots')
    """)["column_name"].to_list()
    assert not {"email", "first_name", "last_name"} & set(columns)


def rate(numerator: str, denominator: str) -> pl.Expr:
    """numerator / denominator, null (not NaN) when the denominator is 0, as in SQL."""
    return pl.when(pl.col(denominator) > 0).then(pl.col(numerator) / pl.col(denominator))


def test_funnel_daily_equals_polars_recomputation(built, shop):
    sessions = shop.data.tables["web.sessions"].unique("session_id").with_columns(date_day=pl.col("started_at").dt.date())
    events = shop.data.tables["web.events"].unique("event_id")
    steps = events.group_by("session_id").agg(
        **{f"has_{step}": (pl.col("event_type") == step).any() for step in ("view", "add_to_cart", "checkout", "purchase")}
    )
    per_session = sessions.join(steps, on="session_id", how="left").fill_null(False)
    expected = (
        per_session.group_by("date_day", "channel")
        .agg(
            sessions=pl.len(),
            sessions_with_view=pl.col("has_view").sum(),
            sessions_with_add_to_cart=pl.col("has_add_to_cart").sum(),
            sessions_with_checkout=pl.col("has_checkout").sum(),
            sessions_with_purchase=pl.col("has_purchase").sum(),
        )
        .with_columns(pl.exclude("date_day", "channel").cast(pl.Int64))
        .with_columns(
            add_to_cart_rate=rate("sessions_with_add_to_cart", "sessions_with_view"),
            purchase_rate=rate("sessions_with_purchase", "sessions_with_checkout"),
            conversion_rate=rate("sessions_with_purchase", "sessions"),
        )
        .sort("date_day", "channel")
    )
    actual = query(built.state, f"SELECT {', '.join(expected.columns)} FROM marts.funnel_daily ORDER BY date_day, channel")
    assert_frame_equal(actual, expected, check_dtypes=False, rel_tol=1e-12)


def test_customer_cohorts_equal_polars_recomputation(built, shop):
    customers = latest(shop.data.tables["shop.customers"], "customer_id", "updated_at").select(
        "customer_id", cohort_month=pl.col("signed_up_at").dt.truncate("1mo").dt.date()
    )
    orders = latest(shop.data.tables["shop.orders"], "order_id", "updated_at").filter(pl.col("status") != "cancelled")
    active = (
        orders.with_columns(activity_month=pl.col("ordered_at").dt.truncate("1mo").dt.date())
        .join(customers, on="customer_id")
        .group_by("cohort_month", "activity_month")
        .agg(active_customers=pl.col("customer_id").n_unique(), revenue=pl.col("order_total").sum())
    )
    sizes = customers.group_by("cohort_month").agg(cohort_size=pl.len())
    actual = query(built.state, "SELECT * FROM marts.customer_cohorts ORDER BY cohort_month, activity_month")
    assert_frame_equal(
        actual.select("cohort_month", "cohort_size").unique().sort("cohort_month"),
        sizes.sort("cohort_month"), check_dtypes=False,
    )
    merged = actual.join(active, on=["cohort_month", "activity_month"], how="left", suffix="_expected").with_columns(
        pl.col("active_customers_expected").fill_null(0)
    )
    assert (merged["active_customers"] == merged["active_customers_expected"]).all()
    assert (merged["retention_rate"] - merged["active_customers"] / merged["cohort_size"]).abs().max() < 1e-12
    with_revenue = merged.filter(pl.col("revenue_expected").is_not_null())
    assert (with_revenue["revenue"].cast(pl.Float64) - with_revenue["revenue_expected"].cast(pl.Float64)).abs().max() < 1e-9
    # every cohort has a row for every observed month from its sign-up on, without gaps
    months = actual.group_by("cohort_month").agg(pl.col("months_since_signup").sort())
    for row in months.iter_rows(named=True):
        observed = row["months_since_signup"]
        assert observed == list(range(observed[0], observed[0] + len(observed)))


def test_experiment_outcomes_equal_truth(built, shop):
    outcomes = query(built.state, """
        SELECT variant, count(*) AS assigned, count(*) FILTER (WHERE is_exposed) AS exposed,
               count(*) FILTER (WHERE converted_after_exposure) AS converted
        FROM marts.experiment_outcomes GROUP BY variant
    """)
    experiment = shop.truth["experiment"]
    for row in outcomes.iter_rows(named=True):
        assert row["assigned"] == experiment["assigned"][row["variant"]]
        assert row["exposed"] == experiment["exposed"][row["variant"]]
        assert row["converted"] == experiment["converted"][row["variant"]]

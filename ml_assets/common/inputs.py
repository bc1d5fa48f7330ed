"""Where the ML layer's inputs come from: the lake, or generator frames in tests.

Every model reads *canonical relations* (temp views with fixed names and columns), so the
algorithms never know whether they run on the warehouse or on ``ShopData``:

=========================  ===========================================================  ===================
relation                   columns                                                      lake source
=========================  ===========================================================  ===================
``ml_in_customers``        customer_id, country_code, acquisition_channel,              raw.shop__customers
                           signed_up_at, updated_at (every version)
``ml_in_order_versions``   order_id, customer_id, session_id, ordered_at, status,       raw.shop__orders
                           order_total, updated_at (every version: statuses as of any cutoff)
``ml_in_sessions``         session_id, customer_id, started_at, has_purchase             marts.fct_sessions
``ml_in_daily``            date_day, revenue, orders, sessions, converting_sessions      marts.fct_daily_revenue
``ml_in_experiment``       experiment_id, customer_id, variant, is_exposed, converted,  marts.experiment_outcomes
                           revenue
=========================  ===========================================================  ===================

The versioned relations come from the raw layer on purpose: the marts keep each record's
*final* state only, which would leak a return booked after a cutoff into features "as of" it.
"""

from __future__ import annotations

import duckdb
import polars as pl

MARTS = "lake.marts"
RAW = "lake.raw"

# Conversion in an experiment counts orders from sessions started inside the experiment window
# (first to last exposure day): orders placed after the test ended are not caused by it.
_EXPERIMENT_SQL = """
with
exposures as (
    select experiment_id, customer_id, min(exposed_at) as first_exposed_at
    from {exposures} group by all
),
windows as (
    select experiment_id, cast(min(exposed_at) as date) as first_day,
           cast(max(exposed_at) as date) + 1 as end_day
    from {exposures} group by all
),
assignments as (
    select experiment_id, customer_id, arg_max(lower(variant), assigned_at) as variant
    from {assignments} group by all
),
orders as (
    select o.customer_id, o.order_id, o.session_started_at, o.revenue from {orders} o
)
select a.experiment_id, a.customer_id, a.variant,
       e.customer_id is not null as is_exposed,
       count(o.order_id) > 0 as converted,
       cast(coalesce(sum(o.revenue), 0) as double) as revenue
from assignments a
join windows w using (experiment_id)
left join exposures e using (experiment_id, customer_id)
left join orders o
  on o.customer_id = a.customer_id
 and o.session_started_at >= e.first_exposed_at - interval 1 hour
 and o.session_started_at >= w.first_day and o.session_started_at < w.end_day
group by all
"""


def _view(con: duckdb.DuckDBPyConnection, name: str, sql: str) -> None:
    con.execute(f"create or replace temp view {name} as {sql}")


def register_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    """Point the canonical relations at the lake (marts for facts, raw for version history)."""
    _view(con, "ml_in_customers", f"""
        select distinct customer_id, upper(country_code) as country_code,
               lower(acquisition_channel) as acquisition_channel, signed_up_at, updated_at
        from {RAW}.shop__customers""")
    _view(con, "ml_in_order_versions", f"""
        select distinct order_id, customer_id, session_id, ordered_at, lower(status) as status,
               cast(order_total as decimal(18, 2)) as order_total, updated_at
        from {RAW}.shop__orders""")
    _view(con, "ml_in_sessions", f"""
        select session_id, customer_id, started_at, has_purchase from {MARTS}.fct_sessions""")
    _view(con, "ml_in_daily", f"""
        select date_day, sum(revenue)::double as revenue, sum(orders)::bigint as orders,
               sum(sessions)::bigint as sessions, sum(converting_sessions)::bigint as converting_sessions
        from {MARTS}.fct_daily_revenue group by date_day""")
    _view(con, "ml_in_order_sessions", f"""
        select o.customer_id, o.order_id, coalesce(s.started_at, o.ordered_at) as session_started_at,
               cast(o.revenue as double) as revenue
        from {MARTS}.fct_orders o left join {MARTS}.fct_sessions s using (session_id)""")
    _view(con, "ml_in_experiment", _EXPERIMENT_SQL.format(
        exposures=f"(select experiment_id, customer_id, first_exposed_at as exposed_at "
                  f"from {MARTS}.experiment_outcomes where is_exposed)",
        assignments=f"{MARTS}.experiment_outcomes",
        orders="ml_in_order_sessions"))


def _latest(df: pl.DataFrame, key: str | list[str], order: str) -> pl.DataFrame:
    return df.sort(order).unique(subset=key, keep="last", maintain_order=True)


def register_frames(con: duckdb.DuckDBPyConnection, tables: dict[str, pl.DataFrame]) -> None:
    """Canonical relations from generator frames (``ShopData.tables``), deduplicated like staging."""
    customers = tables["shop.customers"].select(
        "customer_id", pl.col("country_code").str.to_uppercase(), pl.col("acquisition_channel").str.to_lowercase(),
        "signed_up_at", "updated_at").unique()
    versions = tables["shop.orders"].select(
        "order_id", "customer_id", "ordered_at", pl.col("status").str.to_lowercase(),
        pl.col("order_total").cast(pl.Decimal(18, 2)), "updated_at", "session_id").unique()
    final_orders = _latest(versions, "order_id", "updated_at")
    sessions = tables["web.sessions"].unique(subset="session_id")
    purchased = final_orders.select("session_id").drop_nulls().unique().with_columns(has_purchase=pl.lit(True))
    sessions = sessions.join(purchased, on="session_id", how="left").select(
        "session_id", "customer_id", "started_at", pl.col("has_purchase").fill_null(False),
        pl.col("channel").str.to_lowercase())
    con.register("_ml_customers", customers)
    con.register("_ml_order_versions", versions)
    con.register("_ml_sessions", sessions)
    _view(con, "ml_in_customers", "select * from _ml_customers")
    _view(con, "ml_in_order_versions", "select * from _ml_order_versions")
    _view(con, "ml_in_sessions", "select session_id, customer_id, started_at, has_purchase from _ml_sessions")

    orders = final_orders.join(sessions.select("session_id", pl.col("started_at").alias("session_started_at")),
                               on="session_id", how="left")
    orders = orders.select("customer_id", "order_id",
                           pl.coalesce("session_started_at", "ordered_at").alias("session_started_at"),
                           pl.when(pl.col("status") == "cancelled").then(0.0).otherwise(pl.col("order_total").cast(pl.Float64))
                           .alias("revenue"), "ordered_at", "status")
    con.register("_ml_order_sessions", orders)
    _view(con, "ml_in_order_sessions", "select customer_id, order_id, session_started_at, revenue from _ml_order_sessions")
    _view(con, "ml_in_daily", """
        with o as (
            select cast(ordered_at as date) as date_day, count(*) as orders, sum(revenue) as revenue
            from _ml_order_sessions group by 1),
        s as (
            select cast(started_at as date) as date_day, count(*) as sessions,
                   count(*) filter (where has_purchase) as converting_sessions
            from _ml_sessions group by 1)
        select date_day, coalesce(o.revenue, 0)::double as revenue, coalesce(o.orders, 0)::bigint as orders,
               coalesce(s.sessions, 0)::bigint as sessions, coalesce(s.converting_sessions, 0)::bigint
               as converting_sessions
        from s full join o using (date_day) order by date_day""")

    con.register("_ml_assignments", tables["experiments.assignments"])
    con.register("_ml_exposures", tables["experiments.exposures"])
    _view(con, "ml_in_experiment", _EXPERIMENT_SQL.format(
        exposures="_ml_exposures", assignments="_ml_assignments", orders="ml_in_order_sessions"))

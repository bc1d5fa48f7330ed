"""Customer features, point-in-time correct as of a cutoff: every definition lives here.

A *feature snapshot* describes each customer as the shop knew them at ``cutoff`` and, for
training, whether they churned in the ``horizon`` after it. The SQL reads three canonical
relations, so the same definitions run on the warehouse (``common/inputs.py`` maps them to the lake)
and on generator frames in tests:

``ml_in_customers``       every delivered version of a customer record
                          (customer_id, country_code, acquisition_channel, signed_up_at, updated_at)
``ml_in_order_versions``  every delivered version of an order
                          (order_id, customer_id, session_id, ordered_at, status, order_total, updated_at)
``ml_in_sessions``        one row per web session (session_id, customer_id, started_at)

Point-in-time rules (what keeps post-cutoff information out of the features):

* only sessions started and orders placed strictly before the cutoff count, and a session
  counts as converting only through an order placed before the cutoff;
* a versioned record (customer, order) is taken in its latest version with
  ``updated_at < cutoff``: a return booked after the cutoff, or a country corrected
  after it, does not reach the features, and an order first delivered after the cutoff
  (a late arrival) was not known yet, so it does not count either;
* windows (7/30/90 days) end at the cutoff and are truncated at the start of the observed
  history (``history_start``), so rates divide by the days actually observed.

Churn label (documented choice, see ``LABEL_DEFINITION``): among customers who signed up
before the cutoff and were *recently active* (a session or order in the 30 days before it, or
signed up within them), ``churned = 1`` when they have no session and no order in the 30 days
after the cutoff. Long-gone customers (nothing for 30 days) are left out: predicting that they
stay gone is trivial and would inflate the AUC without helping anyone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import polars as pl

from ml_assets.common.history import NotEnoughHistory

HORIZON_DAYS = 30
ACTIVE_LOOKBACK_DAYS = 30
MIN_HISTORY_DAYS = 30  # observed days before the earliest training cutoff

LABEL_DEFINITION = (
    f"churned = no session and no order in the {HORIZON_DAYS} days after the cutoff; population = "
    f"customers signed up before the cutoff with a session or order in the {ACTIVE_LOOKBACK_DAYS} days "
    f"before it (or signed up within them)"
)


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str  # numeric | categorical
    description: str


FEATURES: tuple[Feature, ...] = (
    Feature("tenure_days", "numeric", "Days from sign-up to the cutoff."),
    Feature("days_since_last_session", "numeric", "Days from the last session to the cutoff "
            "(tenure_days when none was seen)."),
    Feature("days_since_last_order", "numeric", "Days from the last order to the cutoff, capped at 31 "
            "(31 = none in the last 30 days: every cutoff sees at least 30 days of history)."),
    Feature("sessions_7d", "numeric", "Sessions in the 7 days before the cutoff."),
    Feature("sessions_30d", "numeric", "Sessions in the 30 days before the cutoff."),
    Feature("active_days_30d", "numeric", "Distinct days with a session in the 30 days before the cutoff."),
    Feature("session_rate_90d", "numeric", "Sessions per observed day over the 90 days before the cutoff "
            "(engagement)."),
    Feature("session_trend", "numeric", "Session rate in the last 30 days / session rate in the 30 days "
            "before those (rates per observed day, +0.05/day smoothing; 1 when less than a week of the "
            "earlier window is observed); < 1 means fading."),
    Feature("conversion_rate_90d", "numeric", "Share of the 90-day sessions with a purchase."),
    Feature("orders_30d", "numeric", "Orders placed in the 30 days before the cutoff."),
    Feature("order_rate_90d", "numeric", "Orders per 30 observed days over the 90 days before the cutoff."),
    Feature("revenue_rate_90d", "numeric", "Revenue (non-cancelled totals, status as of the cutoff) per 30 "
            "observed days over the 90 days before the cutoff (monetary)."),
    Feature("avg_order_value", "numeric", "Mean non-cancelled order total before the cutoff (0 if none)."),
    Feature("has_bad_order", "numeric", "1 if an order was returned or cancelled, as known at the cutoff."),
    Feature("days_since_bad_order", "numeric", "Days from the placement of the first bad order to the "
            "cutoff; tenure_days when none."),
    Feature("acquisition_channel", "categorical", "Marketing channel that acquired the customer."),
    Feature("country_code", "categorical", "Country of the customer record as of the cutoff."),
)
NUMERIC = [f.name for f in FEATURES if f.kind == "numeric"]
CATEGORICAL = [f.name for f in FEATURES if f.kind == "categorical"]
FEATURE_NAMES = NUMERIC + CATEGORICAL
ID_COLUMNS = {"customer_id": "Customer key.", "cutoff": "Point in time the features describe (exclusive)."}
# Context kept in the table but not fed to the model: it measures the data, not the customer.
CONTEXT_COLUMNS = {
    "observed_days": "Days of the customer's history visible before the cutoff (from max(sign-up, "
                     "history start)), capped at 90: the denominator of the rate features.",
    "sessions_90d": "Sessions in the 90 days before the cutoff (within the observed history).",
    "orders_90d": "Orders placed in the 90 days before the cutoff (within the observed history).",
    "bad_orders": "Orders returned or cancelled, as known at the cutoff.",
}
LABEL_COLUMNS = {
    "churned": LABEL_DEFINITION + " (null when the horizon is not fully observed yet).",
    "label_observed": "True when the whole horizon after the cutoff lies inside the observed data.",
}
COLUMN_DOCS = {**ID_COLUMNS, **{f.name: f.description for f in FEATURES}, **CONTEXT_COLUMNS, **LABEL_COLUMNS}

_SQL = """
with
params as (
    select cast($cutoff as timestamp) as cutoff,
           cast($history_start as timestamp) as history_start,
           cast($data_end as timestamp) as data_end
),
customer_asof as (
    select c.* from ml_in_customers c, params p
    where c.updated_at < p.cutoff and c.signed_up_at < p.cutoff
    qualify row_number() over (partition by c.customer_id order by c.updated_at desc) = 1
),
orders_asof as (
    select o.* from ml_in_order_versions o, params p
    where o.ordered_at < p.cutoff and o.updated_at < p.cutoff
    qualify row_number() over (partition by o.order_id order by o.updated_at desc) = 1
),
purchases as (
    select distinct session_id from orders_asof where session_id is not null
),
sess as (
    select s.customer_id, s.started_at, pu.session_id is not null as has_purchase,
           date_diff('second', s.started_at, p.cutoff) / 86400.0 as age_days
    from ml_in_sessions s
    cross join params p
    left join purchases pu on pu.session_id = s.session_id
    where s.customer_id is not null and s.started_at < p.cutoff
),
sess_agg as (
    select customer_id,
           min(age_days) as days_since_last_session,
           count(*) filter (where age_days <= 7) as sessions_7d,
           count(*) filter (where age_days <= 30) as sessions_30d,
           count(*) filter (where age_days > 30 and age_days <= 60) as sessions_prev_30d,
           count(*) filter (where age_days <= 90) as sessions_90d,
           count(*) filter (where age_days <= 90 and has_purchase) as converting_90d,
           count(distinct cast(started_at as date)) filter (where age_days <= 30) as active_days_30d
    from sess group by customer_id
),
ord as (
    -- money stays DECIMAL until aggregated: exact sums, identical on every run (parallel
    -- floating-point sums are not)
    select o.customer_id, o.status, cast(o.order_total as decimal(18, 2)) as order_total,
           date_diff('second', o.ordered_at, p.cutoff) / 86400.0 as age_days
    from orders_asof o, params p
),
ord_agg as (
    select customer_id,
           min(age_days) as days_since_last_order,
           count(*) filter (where age_days <= 30) as orders_30d,
           count(*) filter (where age_days <= 90) as orders_90d,
           cast(coalesce(sum(order_total) filter (where age_days <= 90 and status <> 'cancelled'), 0) as double)
               as revenue_90d,
           coalesce(cast(sum(order_total) filter (where status <> 'cancelled') as double)
                    / nullif(count(*) filter (where status <> 'cancelled'), 0), 0.0) as avg_order_value,
           count(*) filter (where status in ('returned', 'cancelled')) as bad_orders,
           max(age_days) filter (where status in ('returned', 'cancelled')) as days_since_bad_order
    from ord group by customer_id
),
future as (
    select s.customer_id from ml_in_sessions s, params p
    where s.customer_id is not null and s.started_at >= p.cutoff
      and s.started_at < p.cutoff + to_days($horizon)
    union
    select o.customer_id from ml_in_order_versions o, params p
    where o.ordered_at >= p.cutoff and o.ordered_at < p.cutoff + to_days($horizon)
),
base as (
    select c.customer_id, c.acquisition_channel, c.country_code,
           date_diff('second', c.signed_up_at, p.cutoff) / 86400.0 as tenure_days,
           least(90.0, date_diff('second', greatest(c.signed_up_at, p.history_start), p.cutoff) / 86400.0)
               as observed_days,
           p.cutoff, p.data_end
    from customer_asof c, params p
),
joined as (
    select b.customer_id, b.cutoff,
           b.tenure_days, greatest(b.observed_days, 0.0) as observed_days,
           coalesce(s.days_since_last_session, b.tenure_days) as days_since_last_session,
           least(coalesce(o.days_since_last_order, 31.0), 31.0) as days_since_last_order,
           coalesce(s.sessions_7d, 0) as sessions_7d,
           coalesce(s.sessions_30d, 0) as sessions_30d,
           coalesce(s.sessions_90d, 0) as sessions_90d,
           coalesce(s.sessions_90d, 0) / greatest(b.observed_days, 1.0) as session_rate_90d,
           coalesce(s.active_days_30d, 0) as active_days_30d,
           case when b.observed_days - 30 >= 7 then
               (coalesce(s.sessions_30d, 0) / 30.0 + 0.05)
               / (coalesce(s.sessions_prev_30d, 0) / least(30.0, b.observed_days - 30) + 0.05)
           else 1.0 end as session_trend,
           coalesce(s.converting_90d / nullif(s.sessions_90d, 0), 0.0) as conversion_rate_90d,
           coalesce(o.orders_30d, 0) as orders_30d,
           coalesce(o.orders_90d, 0) as orders_90d,
           30.0 * coalesce(o.orders_90d, 0) / greatest(b.observed_days, 1.0) as order_rate_90d,
           30.0 * coalesce(o.revenue_90d, 0.0) / greatest(b.observed_days, 1.0) as revenue_rate_90d,
           coalesce(o.avg_order_value, 0.0) as avg_order_value,
           coalesce(o.bad_orders, 0) as bad_orders,
           case when coalesce(o.bad_orders, 0) > 0 then 1 else 0 end as has_bad_order,
           coalesce(o.days_since_bad_order, b.tenure_days) as days_since_bad_order,
           b.acquisition_channel, b.country_code,
           b.cutoff + to_days($horizon) <= b.data_end as label_observed,
           f.customer_id is null as no_future_activity
    from base b
    left join sess_agg s using (customer_id)
    left join ord_agg o using (customer_id)
    left join (select distinct customer_id from future) f using (customer_id)
)
select * exclude (no_future_activity),
       case when label_observed then cast(no_future_activity as integer) end as churned
from joined
where $all_customers
   or tenure_days <= $lookback
   or days_since_last_session <= $lookback
   or days_since_last_order <= $lookback
order by customer_id
"""


def history_bounds(con: duckdb.DuckDBPyConnection) -> tuple[dt.datetime, dt.datetime]:
    """(first day, day after the last) of the observed session history."""
    lo, hi = con.execute("select min(started_at), max(started_at) from ml_in_sessions").fetchone()
    if lo is None:
        raise ValueError("no sessions: nothing to build features from")
    start = dt.datetime.combine(lo.date(), dt.time())
    end = dt.datetime.combine(hi.date(), dt.time()) + dt.timedelta(days=1)
    return start, end


def compute_features(con: duckdb.DuckDBPyConnection, cutoff: dt.datetime, *, history_start: dt.datetime,
                     data_end: dt.datetime, horizon_days: int = HORIZON_DAYS,
                     all_customers: bool = False) -> pl.DataFrame:
    """One row per customer of the population at ``cutoff`` (see module docstring).

    ``all_customers`` keeps long-inactive customers too (used for scoring everyone).
    ``churned`` is null when ``cutoff + horizon`` lies beyond ``data_end``.
    """
    params = {"cutoff": cutoff, "history_start": history_start, "data_end": data_end,
              "horizon": horizon_days, "lookback": ACTIVE_LOOKBACK_DAYS, "all_customers": all_customers}
    df = con.execute(_SQL, params).pl()
    return df.with_columns(pl.col("cutoff").cast(pl.Datetime("us")))


def required_history_days(horizon_days: int = HORIZON_DAYS, min_history_days: int = MIN_HISTORY_DAYS) -> int:
    """Days of history a time-based split needs: ``min_history_days`` before one training cutoff,
    then its label window, then the validation cutoff's label window."""
    return min_history_days + 2 * horizon_days


def training_cutoffs(history_start: dt.datetime, data_end: dt.datetime, *, horizon_days: int = HORIZON_DAYS,
                     step_days: int = 14, min_history_days: int = MIN_HISTORY_DAYS,
                     max_train_cutoffs: int = 4) -> tuple[list[dt.datetime], dt.datetime]:
    """Time-based split: (training cutoffs, validation cutoff).

    The validation cutoff is the latest one whose label window is fully observed; training
    cutoffs step back from there so their label windows end before the validation cutoff
    (no overlap, no leakage from the validation period into training labels). Raises
    ``NotEnoughHistory`` when not even one training cutoff fits.
    """
    validation = data_end - dt.timedelta(days=horizon_days)
    train, c = [], validation - dt.timedelta(days=horizon_days)
    while c - history_start >= dt.timedelta(days=min_history_days) and len(train) < max_train_cutoffs:
        train.append(c)
        c -= dt.timedelta(days=step_days)
    if not train:
        raise NotEnoughHistory("a time-based churn split", (data_end - history_start).days,
                               required_history_days(horizon_days, min_history_days))
    return sorted(train), validation


def feature_snapshots(con: duckdb.DuckDBPyConnection, cutoffs: list[dt.datetime], **kwargs) -> pl.DataFrame:
    start, end = history_bounds(con)
    return pl.concat([compute_features(con, c, history_start=start, data_end=end, **kwargs) for c in cutoffs])

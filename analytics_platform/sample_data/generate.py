"""Orchestration: run the simulation steps in causal order and return ``ShopData``.

Order matters: sessions are simulated over the whole run first, the
funnel and orders follow, churn is drawn from the *observed* bad orders,
and only then are sessions after churn (with their events and orders)
removed. Ids are assigned last, so they are dense and time-ordered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from . import config as C
from .calendar import build_calendar
from .churn import churn_times, first_bad_s, hazards
from .convert import ids, ts
from .customers import build_customers, customer_rows
from .experiment import experiment_truth, treated_sessions
from .frames import events_frame, experiment_frames, products_frame, sessions_frame
from .funnel import run_funnel
from .marketing import ad_spend_frame, spend_noise
from .order_rows import daily_truth, order_frames, quirk_summary
from .orders import NO_TIME, build_orders
from .products import build_products
from .schema import SPECS, conform
from .sessions import build_sessions
from .truth import build_truth


@dataclass
class ShopData:
    """Everything one run produced, in memory.

    ``tables`` maps ``"<source>.<table>"`` to exactly the rows that
    ``write_landing`` writes (duplicates and corrections included), with
    the contract's columns/types plus a leading ``_file_date`` column
    naming the daily file each row lands in. ``customer_truth`` holds the
    hidden per-customer state (engagement, hazard, churn time) the JSON
    only summarises.
    """

    seed: int
    scale: float
    days: int
    start_date: dt.date
    tables: dict[str, pl.DataFrame]
    ground_truth: dict
    customer_truth: pl.DataFrame


def generate(seed: int = 42, scale: float = 1.0, days: int = 120,
             start_date: dt.date | str = dt.date(2026, 1, 1)) -> ShopData:
    """Simulate ``days`` days of the shop; deterministic in all arguments."""
    if isinstance(start_date, str):
        start_date = dt.date.fromisoformat(start_date)
    if days < 1 or scale <= 0:
        raise ValueError("days must be >= 1 and scale > 0")
    start_epoch = int(dt.datetime(start_date.year, start_date.month, start_date.day,
                                  tzinfo=dt.UTC).timestamp())
    cal = build_calendar(seed, days, start_date)
    products = build_products(seed, days)
    noise = spend_noise(seed, days)
    cust = build_customers(seed, scale, cal, noise)
    sess = build_sessions(seed, scale, cust, cal, noise)
    treated = treated_sessions(sess.start_s, sess.customer, days)
    fun = run_funnel(seed, sess, cal, products, treated, cust.signup_s)
    orders = build_orders(seed, sess, fun, products, days)
    churn_s = churn_times(seed, cust, orders, days)

    # truncate: nothing happens after a customer's churn
    logged_in = sess.customer >= 0
    alive = fun.start_s < churn_s[np.maximum(sess.customer, 0)]
    keep = fun.valid & (~logged_in | alive)
    orders = orders.subset(keep[orders.sess])
    kept = np.flatnonzero(keep)
    final = kept[np.argsort(fun.start_s[kept], kind="stable")]
    rank = np.full(sess.n, -1, dtype=np.int64)
    rank[final] = np.arange(final.size)
    session_id = ids("s", np.arange(1, final.size + 1))
    fs, start_s = sess.take(final), fun.start_s[final]

    exp_truth, exposure, treat = experiment_truth(
        start_s, fs.customer, fun.p_cart[final], fun.p_buy_control[final], fun.purchased[final], days)
    assignments, exposures = experiment_frames(seed, start_s, fs.customer, session_id, exposure,
                                               treat, start_date, start_epoch)
    customers, cust_summary = customer_rows(seed, cust, cal, start_epoch)
    o_rows, i_rows, p_rows = order_frames(orders, session_id, rank, sess.channel, sess.country,
                                          start_date, start_epoch)
    cube = np.zeros((days, len(C.CHANNELS), len(C.COUNTRIES)), dtype=np.int64)
    np.add.at(cube, (start_s // C.DAY_S, fs.channel, fs.country), 1)
    raw = {
        "shop.customers": customers,
        "shop.products": products_frame(products, days, start_date, start_epoch),
        "shop.orders": o_rows,
        "shop.order_items": i_rows,
        "shop.payments": p_rows,
        "web.sessions": sessions_frame(fs, start_s, session_id, start_date, start_epoch),
        "web.events": events_frame(seed, fun, final, fs.customer, session_id, start_date, start_epoch),
        "marketing.ad_spend": ad_spend_frame(seed, cal, noise, scale, cube),
        "experiments.assignments": assignments,
        "experiments.exposures": exposures,
    }
    tables = {k: conform(raw[k], SPECS[k]) for k in SPECS}

    bad_s = first_bad_s(cust, orders)
    customer_truth = pl.DataFrame({
        "customer_id": cust.customer_id,
        "acquisition_channel": pl.Series(C.CHANNELS)[cust.channel],
        "signed_up_at": ts(cust.signup_s, start_epoch),
        "engagement": cust.engagement,
        "hazard_per_day": hazards(cust),
        "first_bad_order_at": _nullable_ts(bad_s, start_epoch),
        "churned_at": _nullable_ts(churn_s, start_epoch),
    })
    revenue, n_orders, n_ok = daily_truth(orders, days)
    truth = build_truth(
        seed=seed, scale=scale, cal=cal, tables=tables, revenue_cents=revenue, orders=n_orders,
        orders_not_cancelled=n_ok,
        sessions=np.bincount(start_s // C.DAY_S, minlength=days).tolist(),
        experiment=exp_truth, churn_inputs=(cust, churn_s, bad_s), customers=cust_summary,
        quirks=quirk_summary(orders), products=products,
        duplicate_event_rows=int(tables["web.events"].height - fun.n_events[final].sum()),
    )
    return ShopData(seed, scale, days, start_date, tables, truth, customer_truth)


def _nullable_ts(seconds: np.ndarray, start_epoch: int) -> pl.Series:
    missing = seconds == NO_TIME
    return ts(np.where(missing, 0, seconds), start_epoch).set(pl.Series(missing), None)

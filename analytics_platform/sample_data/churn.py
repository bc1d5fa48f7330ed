"""Churn: a proportional-hazard model driven by observable behaviour.

hazard_i(t) = base * exp(b_bad * bad_i(t) + b_channel[channel_i]
                         - b_eng * log(engagement_i / engagement_ref))

``bad_i(t)`` switches from 0 to 1 at the customer's first cancelled or
returned order, so the effect is visible in the data before it acts.
Low engagement (= few sessions/orders, long recency), a paid-social
acquisition and a bad order all raise the hazard, which is what an
RFM + returns + channel model should recover. The clock starts at
max(sign-up, run start); the churn time is drawn exactly by inverting the
piecewise-constant cumulative hazard with one Exp(1) draw per customer.
After churn a customer has no sessions (and therefore no orders).
"""

from __future__ import annotations

import numpy as np

from . import config as C
from .customers import Customers, base_hazard
from .orders import NO_TIME, Orders


def hazards(cust: Customers) -> np.ndarray:
    """Daily hazard before any bad order, per customer."""
    return base_hazard(cust.channel, cust.engagement)


def first_bad_s(cust: Customers, orders: Orders) -> np.ndarray:
    """Earliest bad-order time per customer (NO_TIME if none)."""
    out = np.full(cust.n, NO_TIME, dtype=np.int64)
    np.minimum.at(out, orders.customer, orders.bad_s)
    return out


def churn_times(seed: int, cust: Customers, orders: Orders, days: int) -> np.ndarray:
    """Churn time in seconds since start; NO_TIME if not churned in the run."""
    rng = C.rng(seed, "churn")
    e = rng.exponential(1.0, cust.n)
    h0 = hazards(cust)
    h1 = h0 * np.exp(C.CHURN["b_bad_order"])
    s0 = np.maximum(cust.signup_s, 0) / C.DAY_S
    tb_raw = first_bad_s(cust, orders)
    tb = np.where(tb_raw == NO_TIME, np.inf, tb_raw / C.DAY_S)
    h_before = h0 * (tb - s0)  # inf when no bad order
    t = np.where(e <= h_before, s0 + e / h0, tb + (e - np.minimum(h_before, e)) / h1)
    churned = t < days
    return np.where(churned, np.floor(t * C.DAY_S).astype(np.int64).clip(max=days * C.DAY_S), NO_TIME)


def churn_summary(cust: Customers, churn_s: np.ndarray, bad_s: np.ndarray, days: int) -> dict:
    """Compact aggregate of the per-customer truth for the JSON file."""
    churned = churn_s != NO_TIME
    bad = bad_s < churn_s
    week = churn_s[churned] // (7 * C.DAY_S)
    by_channel = {
        ch: {"customers": int((cust.channel == i).sum()),
             "churned": int((churned & (cust.channel == i)).sum())}
        for i, ch in enumerate(C.CHANNELS)
    }
    return {
        "customers": cust.n,
        "churned": int(churned.sum()),
        "churned_per_week": np.bincount(week, minlength=(days + 6) // 7).tolist(),
        "by_acquisition_channel": by_channel,
        "with_bad_order_before_churn_or_end": {
            "customers": int(bad.sum()), "churned": int((bad & churned).sum())},
        "without_bad_order": {
            "customers": int((~bad).sum()), "churned": int((~bad & churned).sum())},
    }

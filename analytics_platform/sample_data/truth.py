"""Ground truth: what the platform's marts, detectors and models should find.

Revenue definition (used for ``daily[*].revenue``)
-------------------------------------------------
Revenue of day D = sum of ``order_total`` over all orders whose
``ordered_at`` falls on D (UTC), taking each order in its FINAL state
(the row with the latest ``updated_at`` after de-duplicating by
``order_id``) and excluding orders whose final status is ``cancelled``.
Returned orders still count (gross revenue; refunds are visible
separately as negative payments). Late-arriving orders count on their
``ordered_at`` day, not their file day. ``orders`` counts every distinct
order placed that day (any status), ``orders_not_cancelled`` the ones
that contribute to revenue, ``sessions`` the distinct sessions started.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from . import config as C
from .calendar import Calendar
from .churn import churn_summary
from .customers import Customers
from .products import Products

REVENUE_DEFINITION = (
    "sum(order_total) of orders by UTC date(ordered_at), each order in its final state "
    "(latest updated_at per order_id after de-duplication), excluding final status 'cancelled'; "
    "returned orders are included (gross revenue)"
)
CHURN_MECHANISM = (
    "hazard(t) = base_hazard_per_day * exp(b_bad_order * had_cancelled_or_returned_order(t) "
    "+ b_channel[acquisition_channel] - b_engagement * ln(engagement / engagement_reference)); "
    "clock starts at max(signed_up_at, start_date); engagement = latent logged-in sessions/day; "
    "no sessions or orders after churned_at"
)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def build_truth(*, seed: int, scale: float, cal: Calendar, tables: dict[str, pl.DataFrame],
                revenue_cents: list[int], orders: list[int], orders_not_cancelled: list[int],
                sessions: list[int], experiment: dict, churn_inputs: tuple[Customers, np.ndarray, np.ndarray],
                customers: dict, quirks: dict, products: Products, duplicate_event_rows: int) -> dict:
    days = cal.days
    dates = [cal.iso(d) for d in range(days)]
    experiment = dict(experiment)
    experiment["start_date"] = cal.iso(experiment.pop("start_date_index"))
    experiment["end_date"] = cal.iso(experiment.pop("end_date_index_exclusive") - 1)
    cust, churn_s, bad_s = churn_inputs
    return {
        "generator": {
            "package": "analytics_platform.sample_data", "seed": seed, "scale": scale, "days": days,
            "start_date": dates[0], "end_date": dates[-1],
        },
        "revenue_definition": REVENUE_DEFINITION,
        "daily": [
            {"date": d, "revenue": round(r / 100, 2), "orders": o, "orders_not_cancelled": ok,
             "sessions": s}
            for d, r, o, ok, s in zip(dates, revenue_cents, orders, orders_not_cancelled, sessions, strict=False)
        ],
        "totals": {"revenue": round(sum(revenue_cents) / 100, 2), "orders": sum(orders),
                   "orders_not_cancelled": sum(orders_not_cancelled), "sessions": sum(sessions)},
        "row_counts": {k: int(v.height) for k, v in tables.items()},
        "file_counts": {k: int(v["_file_date"].n_unique()) for k, v in tables.items()},
        "anomalies": cal.anomalies,
        "experiment": experiment,
        "churn": {
            "mechanism": CHURN_MECHANISM,
            "params": C.CHURN,
            "engagement_distribution": {"median": C.ENGAGEMENT_MEDIAN, "log_sigma": C.ENGAGEMENT_SIGMA,
                                        "channel_multiplier": dict(zip(C.CHANNELS, C.CHANNEL_ENGAGEMENT.tolist(), strict=False))},
            "summary": churn_summary(cust, churn_s, bad_s, days),
            "per_customer_file": "_customer_truth.parquet",
        },
        "seasonality": {
            "weekly_multiplier": dict(zip(WEEKDAYS, C.WEEKLY.tolist(), strict=False)),
            "yearly": {"amplitude": C.YEARLY_AMPLITUDE, "peak_day_of_year": C.YEARLY_PEAK_DOY,
                       "formula": "1 + amplitude * cos(2*pi*(day_of_year - peak_day_of_year)/365.25)"},
            "trend": {"growth_per_day": C.TREND_GROWTH_PER_DAY, "formula": "exp(growth_per_day * day_index)",
                      "applies_to": "anonymous sessions, sign-ups and ad budgets"},
        },
        "funnel": {
            "p_add_to_cart": C.P_CART, "p_checkout_given_cart": C.P_CHECKOUT,
            "p_purchase_given_checkout": C.P_PURCHASE,
            "views_per_session": f"1 + min(Poisson({C.VIEWS_EXTRA_MEAN}), {C.VIEWS_MAX - 1})",
        },
        "data_quality": {
            "orders": quirks,
            "duplicate_event_rows": duplicate_event_rows,
            "customers": customers,
            "products": {
                "correction_date": cal.iso(products.correction_day) if products.correction_day < days else None,
                "corrected_product_ids": (products.corrected + 1).tolist() if products.correction_day < days else [],
            },
        },
    }

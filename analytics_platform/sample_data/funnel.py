"""Per-session funnel (view -> add_to_cart -> checkout -> purchase) and events.

Session outcomes are drawn first, then exploded into one event per step.
Views pick products by popularity; add_to_cart and purchase refer to the
last viewed product; checkout has no product. Events are spaced by random
gaps and each session is kept inside its start day so per-day files and
per-day metrics agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import config as C
from .calendar import Calendar
from .products import Products
from .sessions import Sessions

VIEW, CART, CHECKOUT, PURCHASE = 0, 1, 2, 3
EVENT_TYPES = ("view", "add_to_cart", "checkout", "purchase")


@dataclass
class Funnel:
    """Session-level outcomes and the exploded event arrays."""

    start_s: np.ndarray  # adjusted session start (fits in its day)
    valid: np.ndarray  # False if the session would start before sign-up
    p_cart: np.ndarray
    p_buy_control: np.ndarray  # P(purchase | checkout) without the experiment
    purchased: np.ndarray
    n_events: np.ndarray
    ev_offset: np.ndarray  # first event index of each session
    ev_type: np.ndarray
    ev_product: np.ndarray  # product index, -1 = none
    ev_delay: np.ndarray  # seconds after session start
    purchase_event: np.ndarray  # event index of the purchase, per session (-1)


def run_funnel(seed: int, sess: Sessions, cal: Calendar, products: Products,
               treated: np.ndarray, signup_s: np.ndarray) -> Funnel:
    rng = C.rng(seed, "funnel")
    n = sess.n
    li = sess.customer >= 0
    day = sess.start_s // C.DAY_S
    n_views = 1 + np.minimum(rng.poisson(C.VIEWS_EXTRA_MEAN, n), C.VIEWS_MAX - 1)
    p_cart = np.minimum(1.0, np.where(li, C.P_CART["logged_in"], C.P_CART["anonymous"]) * cal.cart_mult[day])
    p_buy_c = np.minimum(1.0, np.where(li, C.P_PURCHASE["logged_in"], C.P_PURCHASE["anonymous"]) * cal.buy_mult[day])
    p_buy = np.minimum(1.0, p_buy_c * np.where(treated, C.EXPERIMENT_PURCHASE_MULTIPLIER, 1.0))
    cart = rng.random(n) < p_cart
    checkout = cart & (rng.random(n) < C.P_CHECKOUT)
    purchase = checkout & (rng.random(n) < p_buy)
    n_events = n_views + cart + checkout + purchase

    offset = np.zeros(n, dtype=np.int64)
    np.cumsum(n_events[:-1], out=offset[1:])
    total = int(n_events.sum())
    ev_sess = np.repeat(np.arange(n), n_events)
    pos = np.arange(total) - offset[ev_sess]
    nv = n_views[ev_sess]
    ev_type = np.where(pos < nv, VIEW, pos - nv + CART).astype(np.int8)

    ev_product = np.full(total, -1, dtype=np.int32)
    is_view = ev_type == VIEW
    ev_product[is_view] = rng.choice(len(products.product_id), int(is_view.sum()), p=products.popularity)
    last_view = offset[ev_sess] + nv - 1
    carry = (ev_type == CART) | (ev_type == PURCHASE)
    ev_product[carry] = ev_product[last_view[carry]]

    gaps = np.minimum(5 + rng.exponential(50.0, total), 900).astype(np.int64)
    gaps[offset] = 0
    csum = np.cumsum(gaps)
    delay = csum - csum[offset][ev_sess]
    duration = delay[offset + n_events - 1]

    day_start = day * C.DAY_S
    start = np.maximum(np.minimum(sess.start_s, day_start + C.DAY_S - 1 - duration), day_start)
    cust_signup = np.where(li, signup_s[np.maximum(sess.customer, 0)], -(10**12))
    valid = start >= cust_signup

    purchase_event = np.full(n, -1, dtype=np.int64)
    purchase_event[purchase] = offset[purchase] + n_events[purchase] - 1
    return Funnel(start, valid, p_cart, p_buy_c, purchase, n_events, offset,
                  ev_type, ev_product, delay.astype(np.int32), purchase_event)

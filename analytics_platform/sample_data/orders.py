"""Orders simulated from purchase events: lines, totals, status lifecycle.

Every purchase event becomes one order of 1-4 lines priced at the
product's list price at order time (integer cents, so totals are exact).
Statuses follow a small lifecycle: the first delivery says placed,
shipped or cancelled; ~3% of orders are corrected later (returned,
cancelled or shipped). A bad experience (cancel/return) is timestamped,
because churn reacts to it from that moment on.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from . import config as C
from .calendar import time_of_day
from .funnel import Funnel
from .products import Products
from .sessions import Sessions

STATUSES = ("placed", "shipped", "returned", "cancelled")
PLACED, SHIPPED, RETURNED, CANCELLED = range(4)
NO_TIME = np.iinfo(np.int64).max


@dataclass
class Orders:
    """Per-order arrays (sorted by ``ordered_s``) plus per-line arrays."""

    sess: np.ndarray
    customer: np.ndarray
    ordered_s: np.ndarray
    file_day: np.ndarray  # day of the first delivery (late orders: later)
    status0: np.ndarray  # status in the first delivery
    status: np.ndarray  # final status
    corr_s: np.ndarray  # time of the status correction, NO_TIME if none
    updated0_s: np.ndarray
    total_cents: np.ndarray
    method: np.ndarray
    paid_s: np.ndarray  # capture time, NO_TIME if never captured
    duplicate: np.ndarray  # re-delivered unchanged the next day
    line_order: np.ndarray  # per line: order index
    line_product: np.ndarray
    line_qty: np.ndarray
    line_price: np.ndarray

    @property
    def bad_s(self) -> np.ndarray:
        """When the customer experienced a cancel/return (NO_TIME if never)."""
        bad0 = np.where(self.status0 == CANCELLED, self.ordered_s, NO_TIME)
        bad1 = np.where(np.isin(self.status, (RETURNED, CANCELLED)) & (self.status0 != self.status),
                        self.corr_s, NO_TIME)
        return np.minimum(bad0, bad1)

    def subset(self, keep: np.ndarray) -> Orders:
        """Keep the orders flagged in ``keep`` (and their lines)."""
        new_index = np.cumsum(keep) - 1
        line_keep = keep[self.line_order]
        per_order = {f.name: getattr(self, f.name)[keep] for f in fields(self)
                     if not f.name.startswith("line_")}
        per_line = {f.name: getattr(self, f.name)[line_keep] for f in fields(self)
                    if f.name.startswith("line_")}
        per_line["line_order"] = new_index[per_line["line_order"]]
        return Orders(**per_order, **per_line)


def build_orders(seed: int, sess: Sessions, fun: Funnel, products: Products, days: int) -> Orders:
    rng = C.rng(seed, "orders")
    sel = np.flatnonzero(fun.purchased & fun.valid)
    ordered = fun.start_s[sel] + fun.ev_delay[fun.purchase_event[sel]]
    order = np.lexsort((sel, ordered))
    sel, ordered = sel[order], ordered[order]
    n = sel.size

    n_lines = 1 + rng.choice(4, n, p=C.ITEM_LINES_P)
    line_order = np.repeat(np.arange(n), n_lines)
    first_line = (np.cumsum(n_lines) - n_lines).astype(np.int64)
    product = rng.choice(len(products.product_id), line_order.size, p=products.popularity)
    product[first_line] = fun.ev_product[fun.purchase_event[sel]]
    qty = 1 + rng.choice(3, line_order.size, p=C.QUANTITY_P)
    price = products.price_at(product, ordered[line_order])
    total = np.bincount(line_order, qty * price, n).round().astype(np.int64)

    corrected = rng.random(n) < C.P_CORRECTION
    corr_to = rng.choice([RETURNED, CANCELLED, SHIPPED], n, p=list(C.CORRECTION_MIX.values()))
    init = rng.choice([PLACED, SHIPPED, CANCELLED], n, p=list(C.P_INITIAL.values()))
    status0 = np.where(corrected, np.where(corr_to == RETURNED, SHIPPED, PLACED), init)

    order_day = ordered // C.DAY_S
    late = rng.random(n) < C.P_LATE
    file_day = np.minimum(order_day + np.where(late, rng.integers(1, 4, n), 0), days - 1)
    corr_day = file_day + 1 + rng.integers(0, 9, n)
    corrected &= corr_day < days
    corr_s = np.where(corrected, corr_day * C.DAY_S + time_of_day(rng, n), NO_TIME)
    status = np.where(corrected, corr_to, status0)

    day_end = (file_day + 1) * C.DAY_S - 1
    updated0 = np.where(status0 == SHIPPED,
                        ordered + (rng.random(n) * (day_end - ordered)).astype(np.int64), ordered)
    paid = np.where(status0 == CANCELLED, NO_TIME, ordered + rng.integers(2, 90, n))
    method = rng.choice(len(C.PAYMENT_METHODS), n, p=C.PAYMENT_WEIGHTS)

    eligible = file_day + 1 < days
    dup = (rng.random(n) < C.P_ORDER_DUPLICATE) & eligible
    if dup.sum() < 3:  # always plant a handful so the dedup logic is exercised
        cand = np.flatnonzero(eligible & ~dup)
        dup[rng.permutation(cand)[: 3 - int(dup.sum())]] = True
    return Orders(sel, sess.customer[sel], ordered, file_day.astype(np.int64), status0.astype(np.int8),
                  status.astype(np.int8), corr_s, updated0, total, method.astype(np.int8), paid, dup,
                  line_order, product.astype(np.int64), qty.astype(np.int64), price.astype(np.int64))

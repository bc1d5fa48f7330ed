"""Landing rows for orders, order_items and payments, with delivery quirks.

* late orders: first delivered in the file 1-3 days after ``ordered_at``
  (their items and capture payment travel with them);
* corrections: the order is re-delivered in a later file with the new
  status and a newer ``updated_at``; returns and late cancellations also
  produce a negative refund payment in that file;
* duplicates: a handful of orders are re-delivered unchanged next day.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from . import config as C
from .convert import file_dates, ts
from .orders import CANCELLED, NO_TIME, RETURNED, STATUSES, Orders


def order_frames(o: Orders, session_id: pl.Series, session_rank: np.ndarray,
                 channel: np.ndarray, country: np.ndarray, start_date: dt.date,
                 start_epoch: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Build (orders, order_items, payments); order ids follow ``ordered_at``.

    ``session_rank`` maps an original session index to its row in
    ``session_id``; ``channel``/``country`` are indexed by original session.
    """
    n = o.ordered_s.size
    order_id = np.arange(1, n + 1, dtype=np.int64)
    status = pl.Series(STATUSES)
    base = pl.DataFrame({
        "_file_date": file_dates(o.file_day, start_date),
        "order_id": order_id,
        "customer_id": o.customer + 1,
        "session_id": session_id[session_rank[o.sess]],
        "ordered_at": ts(o.ordered_s, start_epoch),
        "status": status[o.status0],
        "channel": pl.Series(C.CHANNELS)[channel[o.sess]],
        "country_code": pl.Series(C.COUNTRIES)[country[o.sess]],
        "order_total_cents": o.total_cents,
        "updated_at": ts(o.updated0_s, start_epoch),
    })
    corr = np.flatnonzero(o.corr_s != NO_TIME)
    corrections = base[corr].with_columns(
        _file_date=file_dates(o.corr_s[corr] // C.DAY_S, start_date),
        status=status[o.status[corr]],
        updated_at=ts(o.corr_s[corr], start_epoch),
    )
    dup = np.flatnonzero(o.duplicate)
    duplicates = base[dup].with_columns(_file_date=file_dates(o.file_day[dup] + 1, start_date))
    orders = pl.concat([base, corrections, duplicates]).sort("_file_date", "updated_at", "order_id")

    items = pl.DataFrame({
        "_file_date": file_dates(o.file_day[o.line_order], start_date),
        "order_item_id": np.arange(1, o.line_order.size + 1, dtype=np.int64),
        "order_id": order_id[o.line_order],
        "product_id": o.line_product + 1,
        "quantity": o.line_qty.astype(np.int32),
        "unit_price_cents": o.line_price,
        "updated_at": ts(o.ordered_s[o.line_order], start_epoch),
    })

    paid = np.flatnonzero(o.paid_s != NO_TIME)
    refund = corr[np.isin(o.status[corr], (RETURNED, CANCELLED)) & (o.paid_s[corr] != NO_TIME)]
    p_order = np.concatenate([paid, refund])
    p_time = np.concatenate([o.paid_s[paid], o.corr_s[refund]])
    p_day = np.concatenate([o.file_day[paid], o.corr_s[refund] // C.DAY_S])
    p_amount = np.concatenate([o.total_cents[paid], -o.total_cents[refund]])
    srt = np.lexsort((p_order, p_time))
    payments = pl.DataFrame({
        "_file_date": file_dates(p_day[srt], start_date),
        "payment_id": np.arange(1, srt.size + 1, dtype=np.int64),
        "order_id": order_id[p_order[srt]],
        "payment_method": pl.Series(C.PAYMENT_METHODS)[o.method[p_order[srt]]],
        "amount_cents": p_amount[srt],
        "paid_at": ts(p_time[srt], start_epoch),
    })
    return orders, items, payments


def daily_truth(o: Orders, days: int) -> tuple[list[int], list[int], list[int]]:
    """Per ordered_at day: revenue cents (final status != cancelled), orders, non-cancelled orders."""
    day = o.ordered_s // C.DAY_S
    ok = o.status != CANCELLED
    revenue = np.bincount(day[ok], o.total_cents[ok], days).round().astype(np.int64)
    return revenue.tolist(), np.bincount(day, minlength=days).tolist(), np.bincount(day[ok], minlength=days).tolist()


def quirk_summary(o: Orders) -> dict:
    corrected = o.corr_s != NO_TIME
    late_days = o.file_day - o.ordered_s // C.DAY_S
    return {
        "late_orders": int((late_days > 0).sum()),
        "late_orders_by_delay_days": {str(k): int((late_days == k).sum()) for k in (1, 2, 3)},
        "corrected_orders": int(corrected.sum()),
        "corrections_by_new_status": {
            s: int((corrected & (o.status == i)).sum()) for i, s in enumerate(STATUSES) if i},
        "duplicate_order_rows": int(o.duplicate.sum()),
        "refund_payments": int((corrected & np.isin(o.status, (RETURNED, CANCELLED))
                                & (o.paid_s != NO_TIME)).sum()),
    }

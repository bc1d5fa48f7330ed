"""Turn simulation arrays into landing rows (sessions, events, experiment, products).

Simulation code works in integer seconds since the run start and array
indices; this module is the one place that maps them to string ids,
timestamps and file days, so ids are dense and assigned in time order
*after* churn truncation.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from . import config as C
from .convert import file_dates, ids, ts
from .funnel import EVENT_TYPES, Funnel
from .products import Products
from .sessions import Sessions


def sessions_frame(sess: Sessions, start_s: np.ndarray, session_id: pl.Series,
                   start_date: dt.date, start_epoch: int) -> pl.DataFrame:
    """Final sessions, already filtered and time-sorted."""
    cid = pl.Series(sess.customer + 1, dtype=pl.Int64)
    return pl.DataFrame({
        "_file_date": file_dates(start_s // C.DAY_S, start_date),
        "session_id": session_id,
        "customer_id": cid.set(cid == 0, None),
        "started_at": ts(start_s, start_epoch),
        "channel": pl.Series(C.CHANNELS)[sess.channel],
        "device": pl.Series(C.DEVICES)[sess.device],
        "country_code": pl.Series(C.COUNTRIES)[sess.country],
    })


def events_frame(seed: int, fun: Funnel, order: np.ndarray, customer: np.ndarray,
                 session_id: pl.Series, start_date: dt.date, start_epoch: int) -> pl.DataFrame:
    """Events of the final sessions ``order`` (original indices, time-sorted).

    A few events are duplicated right after the original row, inside the
    same file, as a flaky tracker would.
    """
    rng = C.rng(seed, "events")
    counts = fun.n_events[order]
    new_off = (np.cumsum(counts) - counts).astype(np.int64)
    s = np.repeat(np.arange(order.size), counts)
    idx = fun.ev_offset[order][s] + (np.arange(s.size) - new_off[s])
    dup = rng.random(s.size) < C.P_EVENT_DUPLICATE
    rows = np.repeat(np.arange(s.size), 1 + dup)
    s, idx = s[rows], idx[rows]
    occurred = fun.start_s[order][s] + fun.ev_delay[idx]
    cid = pl.Series(customer[s] + 1, dtype=pl.Int64)
    pid = pl.Series(fun.ev_product[idx].astype(np.int64) + 1)
    return pl.DataFrame({
        "_file_date": file_dates(occurred // C.DAY_S, start_date),
        "event_id": ids("e", rows + 1),
        "session_id": session_id[s],
        "customer_id": cid.set(cid == 0, None),
        "event_type": pl.Series(EVENT_TYPES)[fun.ev_type[idx]],
        "product_id": pid.set(pid == 0, None),
        "occurred_at": ts(occurred, start_epoch),
    })


def experiment_frames(seed: int, start_s: np.ndarray, customer: np.ndarray,
                      session_id: pl.Series, exposure: np.ndarray, treat: np.ndarray,
                      start_date: dt.date, start_epoch: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Assignment + exposure rows, both filed on the exposure session's day."""
    rng = C.rng(seed, "experiment_rows")
    t0 = start_s[exposure]
    cid = customer[exposure] + 1
    fd = file_dates(t0 // C.DAY_S, start_date)
    assignments = pl.DataFrame({
        "_file_date": fd,
        "experiment_id": pl.Series([C.EXPERIMENT_ID] * exposure.size, dtype=pl.Utf8),
        "customer_id": cid,
        "variant": pl.Series(["control", "treatment"])[treat.astype(np.int64)],
        "assigned_at": ts(t0, start_epoch),
    })
    exposures = pl.DataFrame({
        "_file_date": fd,
        "exposure_id": f"{C.EXPERIMENT_ID}-" + pl.Series(cid).cast(pl.Utf8),
        "experiment_id": assignments["experiment_id"],
        "customer_id": cid,
        "session_id": session_id[exposure],
        "exposed_at": ts(np.minimum(t0 + rng.integers(1, 20, exposure.size),
                                    (t0 // C.DAY_S + 1) * C.DAY_S - 1), start_epoch),
    })
    return assignments, exposures


def products_frame(p: Products, days: int, start_date: dt.date, start_epoch: int) -> pl.DataFrame:
    """Full catalogue on day 0, price corrections on ``p.correction_day``."""
    full = pl.DataFrame({
        "_file_date": file_dates(np.zeros(len(p.product_id), dtype=np.int64), start_date),
        "product_id": p.product_id.astype(np.int64),
        "product_name": p.name,
        "category": p.category,
        "unit_price_cents": p.price_cents,
        "unit_cost_cents": p.cost_cents,
        "updated_at": ts(np.zeros(len(p.product_id), dtype=np.int64), start_epoch),
    })
    if p.correction_day >= days:
        return full
    c = p.corrected
    corr = full[c].with_columns(
        _file_date=file_dates(np.full(c.size, p.correction_day), start_date),
        unit_price_cents=pl.Series(p.new_price_cents[c]),
        updated_at=ts(np.full(c.size, p.correction_s), start_epoch),
    )
    return pl.concat([full, corr])

"""Array -> column converters shared by the row builders.

The simulation keeps time as integer seconds since the run start and
days as integer indices; these helpers are the single place where that
becomes timestamps, file dates and string ids.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

EPOCH = dt.date(1970, 1, 1)


def ts(seconds: np.ndarray, start_epoch: int) -> pl.Series:
    """Seconds since run start -> microsecond timestamps (naive, UTC)."""
    return pl.from_epoch(pl.Series(seconds + start_epoch, dtype=pl.Int64), time_unit="s").cast(pl.Datetime("us"))


def file_dates(day: np.ndarray, start_date: dt.date) -> pl.Series:
    """Day index since run start -> calendar date of the daily file."""
    return pl.Series((np.asarray(day) + (start_date - EPOCH).days).astype(np.int32)).cast(pl.Date)


def ids(prefix: str, numbers: np.ndarray) -> pl.Series:
    return prefix + pl.Series(numbers, dtype=pl.Int64).cast(pl.Utf8)

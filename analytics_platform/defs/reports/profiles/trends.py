"""Measures over time: per-period averages on an automatic grain, and a least-squares trend.

The trend's % change compares the fitted line at the first and last period, not the two raw end
points, so one noisy or partial period at either end does not decide the story. Measures are
compared over their common span: from the latest first period to the earliest last period of the
series covering at least 80 % of the time axis (a stock listed years after the others would
otherwise show a "+4,453 %" that is only its later start); shorter series get no trend at all.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import duckdb

from analytics_platform.defs.reports.profiles.columns import Col
from analytics_platform.defs.reports.profiles.sql import WORK_TABLE, jsonable
from analytics_platform.warehouse import quote_ident

GRAINS = (("minute", 1 / 1440), ("hour", 1 / 24), ("day", 1.0), ("week", 7.0), ("month", 30.44), ("quarter", 91.31), ("year", 365.25))
MAX_PERIODS = 60
MAX_MEASURES = 12
STRONG_R2, WEAK_R2 = 0.5, 0.2
MIN_COVERAGE = 0.8  # a series spanning less of the time axis is not trended (nor compared)


def common_span(series: dict[str, list[Any]], n: int) -> tuple[int, int, list[str]]:
    """(first, last) period index every kept series covers, and the series too short to keep."""
    spans = {}
    for name, ys in series.items():
        present = [i for i, y in enumerate(ys) if y is not None]
        if present:
            spans[name] = (present[0], present[-1])
    kept = {name: sp for name, sp in spans.items() if sp[1] - sp[0] + 1 >= MIN_COVERAGE * n}
    short = sorted(set(series) - set(kept), key=list(series).index)
    if not kept:
        return 0, max(n - 1, 0), short
    return max(sp[0] for sp in kept.values()), min(sp[1] for sp in kept.values()), short


def choose_grain(time_info: dict[str, Any]) -> str:
    if time_info["source"] == "year":
        return "year"
    span = time_info.get("span_days") or 0.0
    return next((g for g, days in GRAINS if span / days + 1 <= MAX_PERIODS), "year")


def fit(xs: list[float], ys: list[float | None]) -> dict[str, Any] | None:
    """Least squares of ys on xs (days since the first period). Positive series spanning a 10×
    range or more (prices, populations) are fitted on a log scale: an exponential trend."""
    pts = [(x, y) for x, y in zip(xs, ys, strict=False) if y is not None and math.isfinite(y)]
    if len(pts) < 3:
        return None
    values = [p[1] for p in pts]
    exponential = min(values) > 0 and max(values) / min(values) >= 10
    if exponential:
        pts = [(x, math.log(y)) for x, y in pts]
    n = len(pts)
    mx, my = sum(p[0] for p in pts) / n, sum(p[1] for p in pts) / n
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    syy = sum((p[1] - my) ** 2 for p in pts)
    if sxx == 0:
        return None
    slope = sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx
    intercept = my - slope * mx
    r2 = (slope**2 * sxx / syy) if syy > 0 else 0.0
    start, end = intercept + slope * pts[0][0], intercept + slope * pts[-1][0]
    if exponential:
        start, end = math.exp(start), math.exp(end)
    pct = (end - start) / abs(start) * 100 if start and (start > 0) == (end > 0) and abs(start) > 1e-12 else None
    direction = "flat" if r2 < WEAK_R2 or slope == 0 else ("up" if slope > 0 else "down")
    return {
        "model": "exponential" if exponential else "linear", "slope_per_day": slope, "r2": r2, "start": start, "end": end,
        "pct_change": pct, "direction": direction, "strength": "clear" if r2 >= STRONG_R2 else "weak" if r2 >= WEAK_R2 else "none",
        "first_value": values[0], "last_value": values[-1], "periods": n,
    }


def over_time(con: duckdb.DuckDBPyConnection, time_column: str, time_info: dict[str, Any], measures: list[Col]) -> dict[str, Any]:
    grain = choose_grain(time_info)
    measures = measures[:MAX_MEASURES]
    t = time_info["expr"]
    avgs = "".join(f", avg({m.x}) AS {quote_ident('m' + str(i))}" for i, m in enumerate(measures))
    rows = con.execute(
        f"SELECT date_trunc('{grain}', {t}) AS period, count(*) AS n{avgs} FROM {WORK_TABLE} "
        f"WHERE {t} IS NOT NULL GROUP BY 1 ORDER BY 1"
    ).fetchall()
    periods = [r[0] for r in rows]
    first = periods[0] if periods else None
    # date_trunc gives DATE for day-or-coarser grains, TIMESTAMP below: both subtract to a timedelta
    xs = [(p - first).total_seconds() / 86400 if isinstance(p, dt.date) else float(i) for i, p in enumerate(periods)]
    counts = [int(r[1]) for r in rows]
    series = {m.name: [jsonable(r[2 + i]) for r in rows] for i, m in enumerate(measures)}
    lo, hi, short = common_span(series, len(periods))
    window = slice(lo, hi + 1)
    return {
        "time_column": time_column,
        "grain": grain,
        "aggregate": "mean",
        "periods": [label(p, grain) for p in periods],
        "rows": counts,
        "series": series,
        "span": {"first": label(periods[lo], grain) if periods else None, "last": label(periods[hi], grain) if periods else None,
                 "periods": hi - lo + 1 if periods else 0, "short_series": short},
        "fits": {name: None if name in short else fit(xs[window], ys[window]) for name, ys in series.items()},
        "volume_fit": fit(xs, [float(c) for c in counts]),
    }


def label(period: Any, grain: str) -> str:
    if not isinstance(period, (dt.datetime, dt.date)):
        return str(period)
    if grain == "year":
        return f"{period.year}"
    if grain == "quarter":
        return f"{period.year}-Q{(period.month - 1) // 3 + 1}"
    if grain == "month":
        return period.strftime("%Y-%m")
    if grain in ("day", "week"):
        return period.strftime("%Y-%m-%d")
    return period.isoformat(sep=" ", timespec="minutes")

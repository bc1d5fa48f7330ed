"""Distributions of numeric columns: outliers (robust z-score, IQR fallback) and histograms.

Outliers are values whose robust z-score |0.6745·(x − median) / MAD| exceeds 3.5 (Iglewicz &
Hoaglin); it is not fooled by the outliers themselves, unlike mean ± 3σ. When more than half
the values are equal (MAD = 0) Tukey's fences (Q1 − 1.5·IQR, Q3 + 1.5·IQR) are used instead.
Histograms cover the values inside the fences with "nice" bins; outliers are counted apart, so a
heavy tail does not squash the chart into one bar.
"""

from __future__ import annotations

import math
from typing import Any

import duckdb

from analytics_platform.defs.reports.profiles.columns import Col
from analytics_platform.defs.reports.profiles.sql import aggregate, jsonable

Z_LIMIT = 3.5
DISCRETE_RANGE = 40  # integer columns spanning at most this many values get one bar per value
BINS = 24


def nice_edges(lo: float, hi: float, target: int = BINS) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo, lo + 1.0] if math.isfinite(lo) else [0.0, 1.0]
    raw = (hi - lo) / target
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(lo / step) * step
    edges = [start]
    while edges[-1] < hi:
        edges.append(start + len(edges) * step)
    return [round(e, 12) for e in edges]


def _literal(values: list[float]) -> str:
    return "[" + ", ".join(repr(float(v)) for v in values) + "]::DOUBLE[]"


def fences(s: dict[str, Any]) -> tuple[str, float, float] | None:
    median, mad, q25, q75 = s.get("median"), s.get("mad"), s.get("q25"), s.get("q75")
    if median is not None and mad:
        reach = Z_LIMIT * mad / 0.6745
        return f"robust z-score > {Z_LIMIT} (median ± {Z_LIMIT}·MAD/0.6745)", median - reach, median + reach
    if q25 is not None and q75 is not None and q75 > q25:
        iqr = q75 - q25
        return "outside Tukey's fences (Q1 − 1.5·IQR, Q3 + 1.5·IQR)", q25 - 1.5 * iqr, q75 + 1.5 * iqr
    return None


def describe(con: duckdb.DuckDBPyConnection, cols: list[Col], stats: dict[str, dict[str, Any]]) -> None:
    """Adds ``mad``, ``outliers`` and ``histogram`` to the stats of each numeric column."""
    cols = [c for c in cols if stats[c.name].get("median") is not None]
    if not cols:
        return
    mads = aggregate(con, {c.name: f"quantile_cont(abs({c.x} - {stats[c.name]['median']!r}), 0.5)" for c in cols})
    exprs: dict[tuple[str, str], str] = {}
    plans: dict[str, dict[str, Any]] = {}
    for c in cols:
        s = stats[c.name]
        s["mad"] = jsonable(mads[c.name])
        fence = fences(s)
        lo, hi = s["min"], s["max"]
        if fence:
            _, low, high = fence
            exprs[(c.name, "below")] = f"count(*) FILTER (WHERE {c.x} < {low!r})"
            exprs[(c.name, "above")] = f"count(*) FILTER (WHERE {c.x} > {high!r})"
            lo, hi = max(lo, low), min(hi, high)
        inside = f"{c.x} BETWEEN {lo!r} AND {hi!r}"
        if c.family == "integer" and s["max"] - s["min"] <= DISCRETE_RANGE:
            plans[c.name] = {"discrete": True}
            exprs[(c.name, "histogram")] = f"histogram({c.q}) FILTER (WHERE {inside})"
        else:
            edges = nice_edges(lo, hi)
            plans[c.name] = {"discrete": False, "edges": edges}
            exprs[(c.name, "histogram")] = f"histogram({c.x}, {_literal(edges[1:])}) FILTER (WHERE {inside})"
    values = aggregate(con, exprs)
    for c in cols:
        s, plan = stats[c.name], plans[c.name]
        fence = fences(s)
        finite = s.get("finite") or 0
        if fence:
            method, low, high = fence
            below, above = values[(c.name, "below")], values[(c.name, "above")]
            s["outliers"] = {
                "method": method, "low": low, "high": high, "below": below, "above": above,
                "count": below + above, "share": (below + above) / finite if finite else 0.0,
            }
        else:
            s["outliers"] = {"method": "none (no spread)", "low": None, "high": None, "below": 0, "above": 0, "count": 0, "share": 0.0}
        counts = values[(c.name, "histogram")] or {}
        if plan["discrete"]:
            keys = sorted(counts)
            s["histogram"] = {"discrete": True, "values": [jsonable(k) for k in keys], "counts": [int(counts[k]) for k in keys]}
        else:
            edges = plan["edges"]
            s["histogram"] = {"discrete": False, "edges": edges, "counts": [int(counts.get(e, 0)) for e in edges[1:]]}
        s["histogram"]["below"], s["histogram"]["above"] = s["outliers"]["below"], s["outliers"]["above"]

"""Pearson correlations between measure columns, in one scan, plus a sample of the top pair."""

from __future__ import annotations

from typing import Any

import duckdb

from analytics_platform.defs.reports.profiles.columns import Col
from analytics_platform.defs.reports.profiles.sql import WORK_TABLE, aggregate, jsonable

MAX_COLUMNS = 30  # 435 pairs: still one scan
TOP_PAIRS = 10
SCATTER_POINTS = 1500


def strength(r: float) -> str:
    a = abs(r)
    return "very strong" if a >= 0.9 else "strong" if a >= 0.7 else "moderate" if a >= 0.4 else "weak" if a >= 0.2 else "negligible"


def correlate(con: duckdb.DuckDBPyConnection, measures: list[Col]) -> dict[str, Any] | None:
    cols = measures[:MAX_COLUMNS]
    if len(cols) < 2:
        return None
    exprs = {(a.name, b.name): f"corr({a.x}, {b.x})" for i, a in enumerate(cols) for b in cols[i + 1 :]}
    values = {k: jsonable(v) for k, v in aggregate(con, exprs).items()}
    ranked = sorted(((k, r) for k, r in values.items() if r is not None), key=lambda kv: -abs(kv[1]))[:TOP_PAIRS]
    by_name = {c.name: c for c in cols}
    counts = aggregate(con, {k: f"regr_count({by_name[k[0]].x}, {by_name[k[1]].x})" for k, _ in ranked}) if ranked else {}
    names = [c.name for c in cols]
    matrix = [[1.0 if a == b else values.get((a, b), values.get((b, a))) for b in names] for a in names]
    result: dict[str, Any] = {
        "method": "pearson",
        "columns": names,
        "matrix": matrix,
        "pairs": [{"a": a, "b": b, "r": r, "n": int(counts[(a, b)]), "strength": strength(r)} for (a, b), r in ranked],
        "skipped_columns": [c.name for c in measures[MAX_COLUMNS:]],
    }
    if ranked:
        (a, b), r = ranked[0]
        x, y = by_name[a].x, by_name[b].x
        points = con.execute(
            f"SELECT * FROM (SELECT {x} AS x, {y} AS y FROM {WORK_TABLE} WHERE {x} IS NOT NULL AND {y} IS NOT NULL) "
            f"USING SAMPLE reservoir({SCATTER_POINTS} ROWS) REPEATABLE (42)"
        ).fetchall()
        result["scatter"] = {"x": a, "y": b, "r": r, "points": [[jsonable(p[0]), jsonable(p[1])] for p in points]}
    return result

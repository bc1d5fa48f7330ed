"""The main measure split by the main category, and how much of its variance the split explains."""

from __future__ import annotations

from typing import Any

import duckdb

from analytics_platform.defs.reports.profiles.columns import Col
from analytics_platform.defs.reports.profiles.sql import WORK_TABLE, jsonable

MAX_GROUPS = 12


def split(con: duckdb.DuckDBPyConnection, category: Col, measure: Col) -> dict[str, Any] | None:
    x = measure.x
    rows = con.execute(
        f"SELECT {category.q}::VARCHAR AS g, count({x}) AS n, avg({x}) AS mean, coalesce(var_pop({x}), 0) AS var "
        f"FROM {WORK_TABLE} WHERE {category.q} IS NOT NULL GROUP BY 1 HAVING count({x}) > 0 ORDER BY n DESC, g"
    ).fetchall()
    if len(rows) < 2:
        return None
    total = sum(n for _, n, _, _ in rows)
    grand = sum(n * m for _, n, m, _ in rows) / total
    between = sum(n * (m - grand) ** 2 for _, n, m, _ in rows)
    within = sum(n * v for _, n, _, v in rows)
    eta2 = between / (between + within) if between + within > 0 else 0.0
    return {
        "category": category.name,
        "measure": measure.name,
        "groups": [{"value": g, "rows": int(n), "mean": jsonable(m)} for g, n, m, _ in rows[:MAX_GROUPS]],
        "group_count": len(rows),
        "eta_squared": eta2,
    }

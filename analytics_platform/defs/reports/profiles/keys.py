"""Candidate keys (a unique, never-empty column, else a unique pair) and exact duplicate rows."""

from __future__ import annotations

from typing import Any

import duckdb

from analytics_platform.defs.reports.profiles.columns import Col, exact_distinct
from analytics_platform.defs.reports.profiles.sql import WORK_TABLE, aggregate

KEY_KINDS = ("identifier", "code", "time", "category", "boolean")  # measures identify nothing, even when unique
PAIR_CANDIDATES = 6


def key_and_duplicates(con: duckdb.DuckDBPyConnection, cols: list[Col], stats: dict[str, dict[str, Any]], rows: int) -> tuple[list[str], int]:
    """(candidate key, exact duplicate rows), each known from the other where it can be: a table with a
    unique column has no duplicate rows, and a table with duplicate rows has no key (two equal rows agree
    in every column). So the pair search, one scan with up to 15 distinct counts of pairs (6 s of a 1M-row
    profile), runs only on tables with neither."""
    key = primary_key(con, cols, stats, rows, pairs=False)
    if key:
        return key, 0
    duplicates = duplicate_rows(con, rows)
    if duplicates > 0:
        return [], duplicates
    return primary_key(con, cols, stats, rows), duplicates


def primary_key(con: duckdb.DuckDBPyConnection, cols: list[Col], stats: dict[str, dict[str, Any]], rows: int, pairs: bool = True) -> list[str]:
    """Columns that identify a row: never null, never repeated, not floating point (one column, else
    a pair when ``pairs``)."""
    if rows < 2:
        return []
    usable = [
        c for c in cols
        if c.family not in ("float", "other") and stats[c.name].get("count") == rows and stats[c.name].get("kind") in KEY_KINDS
    ]
    rank = {"identifier": 0, "category": 1, "code": 1, "time": 1, "boolean": 3}
    singles = [c for c in usable if stats[c.name].get("unique") and stats[c.name]["kind"] in ("identifier", "code", "time")]
    for best in sorted(singles, key=lambda c: (rank[stats[c.name]["kind"]], cols.index(c))):
        s = stats[best.name]
        if not s.get("distinct_exact"):  # approximately unique: count exactly before calling it a key
            s["distinct"] = exact_distinct(con, [best])[best.name]
            s["distinct_exact"] = True
            s["unique"] = s["distinct"] == s["count"]
        if s["unique"]:
            return [best.name]
    pool = sorted(usable, key=lambda c: -(stats[c.name].get("distinct") or 0))[:PAIR_CANDIDATES]
    candidates = [(a, b) for i, a in enumerate(pool) for b in pool[i + 1 :] if pairs and _combinations(stats, a, b) >= rows]
    if not candidates:
        return []
    counts = aggregate(con, {(a.name, b.name): f"count(DISTINCT ({a.q}, {b.q}))" for a, b in candidates})
    unique = [(a, b) for a, b in candidates if counts[(a.name, b.name)] == rows]
    if not unique:
        return []
    a, b = min(unique, key=lambda p: (rank[stats[p[0].name]["kind"]] + rank[stats[p[1].name]["kind"]], cols.index(p[0]), cols.index(p[1])))
    return sorted([a.name, b.name], key=lambda n: [c.name for c in cols].index(n))


def _combinations(stats: dict[str, dict[str, Any]], a: Col, b: Col) -> float:
    """At most how many distinct (a, b) pairs there can be (approximate counts given 25 % room)."""
    def most(c: Col) -> float:
        s = stats[c.name]
        return (s.get("distinct") or 0) * (1 if s.get("distinct_exact") else 1.25)

    return most(a) * most(b)


def duplicate_rows(con: duckdb.DuckDBPyConnection, rows: int) -> int:
    try:
        distinct = con.execute(f"SELECT count(*) FROM (SELECT DISTINCT * FROM {WORK_TABLE})").fetchone()
    except duckdb.Error:  # types without equality (rare nested types): unknown, not zero
        return -1
    return rows - int(distinct[0]) if distinct else 0

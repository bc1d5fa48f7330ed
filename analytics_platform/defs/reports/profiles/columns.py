"""Per-column statistics in one or two scans, and what kind of column each one is.

Kinds drive everything downstream: ``measure`` columns get distributions, correlations and
trends; ``category``/``code``/``boolean`` columns get top values and segment the measures;
``identifier`` columns are keys; ``time`` columns are axes; ``calendar`` parts (month, weekday…)
only group rows. ``roles.py`` names the role each kind plays and documents the rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import duckdb

from analytics_platform.defs.reports.profiles.sql import aggregate, jsonable
from analytics_platform.warehouse import quote_ident

INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}
QUANTILES = (0.01, 0.25, 0.5, 0.75, 0.99)
CATEGORY_MAX_DISTINCT = 50  # text with at most this many values (or ≤ 50% distinct) is a category
CODE_NAME = re.compile(r"(^|[_\s.])(id|key|code|num|no|nr|number|zip|postcode|iso|index|idx)$|^(id|key|code)[_\s]", re.IGNORECASE)
CAMEL_CODE_NAME = re.compile(r"[a-z0-9](Id|ID|Key|Code|Num|No|Nr)$")
# Whole numbers with few values named like a class label (sklearn's `target`, a `cluster`): categories.
CLASS_NAME = re.compile(r"(^|[_\s.])(target|class|label|cluster|group|grade|category|segment)$", re.IGNORECASE)
CLASS_MAX_DISTINCT = 20


@dataclass(frozen=True)
class Col:
    name: str
    type: str
    family: str  # integer | float | decimal | time | boolean | text | other

    @property
    def q(self) -> str:
        return quote_ident(self.name)

    @property
    def numeric(self) -> bool:
        return self.family in ("integer", "float", "decimal")

    @property
    def x(self) -> str:
        """The column as a finite DOUBLE (numeric families only)."""
        if self.family == "float":
            return f"(CASE WHEN isfinite({self.q}) THEN {self.q}::DOUBLE END)"
        return f"{self.q}::DOUBLE"

    @property
    def v(self) -> str:
        """The column as comparable scalar: itself, or its text for nested types."""
        return f"{self.q}::VARCHAR" if self.family == "other" else self.q


def family(duckdb_type: str) -> str:
    t = duckdb_type.upper()
    base = t.split("(")[0].strip()
    if base in INTEGER_TYPES:
        return "integer"
    if base in FLOAT_TYPES:
        return "float"
    if base == "DECIMAL":
        return "decimal"
    if base == "DATE" or base.startswith("TIMESTAMP"):
        return "time"
    if base == "BOOLEAN":
        return "boolean"
    if base in ("VARCHAR", "UUID", "ENUM") or t.startswith("ENUM"):
        return "text"
    return "other"  # LIST, STRUCT, MAP, BLOB, TIME, INTERVAL, JSON…


def make_columns(described: list[tuple[str, str]]) -> list[Col]:
    return [Col(name, dtype, family(dtype)) for name, dtype in described]


def basic_stats(con: duckdb.DuckDBPyConnection, cols: list[Col], exact: bool) -> dict[str, dict[str, Any]]:
    """Non-null and distinct counts for every column; moments and quantiles for numbers;
    range for times; lengths for text. Distinct counts are exact below the size limit and
    approximate above it; quantiles (medians) are always exact on the profiled rows: DuckDB's
    ``approx_quantile`` gave 6.82 for a median of 7."""
    distinct = "count(DISTINCT {})" if exact else "approx_count_distinct({})"
    qs = "[" + ", ".join(str(q) for q in QUANTILES) + "]"
    exprs: dict[tuple[str, str], str] = {}
    for c in cols:
        exprs[(c.name, "count")] = f"count({c.q})"
        exprs[(c.name, "distinct")] = distinct.format(c.v)
        if c.numeric:
            x = c.x
            exprs.update({
                (c.name, "finite"): f"count({x})",
                (c.name, "min"): f"min({x})",
                (c.name, "max"): f"max({x})",
                (c.name, "mean"): f"avg({x})",
                (c.name, "std"): f"stddev_samp({x})",
                (c.name, "skewness"): f"skewness({x})",
                (c.name, "quantiles"): f"quantile_cont({x}, {qs})",
            })
            if c.family != "integer":  # whole numbers stored as DOUBLE/DECIMAL (years, counts)
                exprs[(c.name, "integral")] = f"bool_and({x} = round({x}))"
        elif c.family == "time":
            exprs[(c.name, "min")] = f"min({c.q})"
            exprs[(c.name, "max")] = f"max({c.q})"
        elif c.family == "text":
            exprs[(c.name, "min_length")] = f"min(length({c.q}::VARCHAR))"
            exprs[(c.name, "max_length")] = f"max(length({c.q}::VARCHAR))"
            exprs[(c.name, "avg_length")] = f"avg(length({c.q}::VARCHAR))"
        elif c.family == "boolean":
            exprs[(c.name, "true")] = f"sum({c.q}::INTEGER)"
    values = aggregate(con, exprs)
    stats: dict[str, dict[str, Any]] = {c.name: {"integral": True} if c.family == "integer" else {} for c in cols}
    for (name, key), value in values.items():
        if key == "quantiles":
            value = dict(zip(("q01", "q25", "median", "q75", "q99"), value or [None] * 5, strict=False))
            stats[name].update({k: jsonable(v) for k, v in value.items()})
        else:
            stats[name][key] = jsonable(value)
    return stats


def exact_distinct(con: duckdb.DuckDBPyConnection, cols: list[Col]) -> dict[str, int]:
    if not cols:
        return {}
    values = aggregate(con, {c.name: f"count(DISTINCT {c.v})" for c in cols})
    return {k: int(v) for k, v in values.items()}


def top_values(con: duckdb.DuckDBPyConnection, col: Col, limit: int = 10, table: str = "profile_data") -> list[tuple[Any, int]]:
    return con.execute(
        f"SELECT {col.q}::VARCHAR AS v, count(*) AS n FROM {table} WHERE {col.q} IS NOT NULL GROUP BY 1 ORDER BY n DESC, v LIMIT {limit}"
    ).fetchall()


def is_code_name(name: str) -> bool:
    name = name.strip()
    return bool(CODE_NAME.search(name) or CAMEL_CODE_NAME.search(name))


def classify(col: Col, s: dict[str, Any], rows: int, time_info: dict[str, Any] | None, calendar: str | None = None) -> str:
    """The column's kind: empty, constant, time, calendar, identifier, code, boolean, measure, category, text,
    other (``roles.py`` turns kinds into roles and documents the rules)."""
    nonnull, distinct = s.get("count") or 0, s.get("distinct") or 0
    if nonnull == 0:
        return "empty"
    if distinct <= 1:
        return "constant"
    if time_info:
        return "time"
    if calendar:
        return "calendar"
    unique = bool(s.get("unique"))
    if col.family == "boolean":
        return "boolean"
    if col.numeric:
        dense = col.family == "integer" and s.get("min") is not None and (s["max"] - s["min"] + 1) == nonnull
        whole = bool(s.get("integral"))  # ids written as 101.0 by a tool that stored them as floats
        if unique and whole and (is_code_name(col.name) or (dense and nonnull > 2)):
            return "identifier"
        if whole and is_code_name(col.name):
            return "code"
        if whole and distinct <= CLASS_MAX_DISTINCT and CLASS_NAME.search(col.name.strip()):
            return "category"
        if distinct == 2 and whole:
            return "boolean"  # a 0/1 flag: its share is what matters, not its mean
        return "measure"
    if col.family == "text":
        if unique and nonnull == rows:
            return "identifier"
        if distinct <= CATEGORY_MAX_DISTINCT or distinct <= 0.5 * nonnull:
            return "category"
        return "text"
    return "other"

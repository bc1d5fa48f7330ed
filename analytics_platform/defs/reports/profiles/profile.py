"""Compute the profile of one uncontracted dataset, inside DuckDB.

The dataset is copied once into a session-local table (a reservoir sample above
``SAMPLE_LIMIT`` rows), then profiled in a handful of scans: every aggregate for every column is
batched into one SELECT (see ``sql.aggregate``). Quantiles (medians, quartiles, MAD) are exact on
the profiled rows; above ``SAMPLE_LIMIT`` rows they come from the sample, and the profile says so
(``quantiles_from``), as every median shown does. Exact distinct counts are used up to
``EXACT_LIMIT`` rows, DuckDB's approximate ones above it (and exact again for key candidates).
The result is a plain JSON-able dict: the dashboard and the contract are rendered from it alone.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

import duckdb

from analytics_platform.defs.reports.profiles import columns as colmod, correlations, distributions, keys, roles, segments, timecols, trends
from analytics_platform.defs.reports.profiles.columns import Col
from analytics_platform.defs.reports.profiles.datasets import LINEAGE_COLUMNS, Dataset, qualified_table
from analytics_platform.defs.reports.profiles.insights import generate
from analytics_platform.defs.reports.profiles.sql import WORK_TABLE, aggregate, jsonable
from analytics_platform.warehouse import quote_ident

SAMPLE_LIMIT = 2_000_000
EXACT_LIMIT = 250_000
EXACT_DISTINCT_BELOW = 10_000  # above EXACT_LIMIT rows, numbers with fewer values are still counted exactly
MAX_TOP_VALUE_COLUMNS = 60
PROFILE_VERSION = 1

# Which measure is "the" measure: the first name hint in this order wins, else the richest column.
MEASURE_HINTS = (
    "revenue", "sales", "amount", "total", "price", "value", "profit", "income", "cost", "spend", "close",
    "gdp", "score", "qty", "quantity", "count", "volume", "duration", "minutes", "hours", "weight",
)
NOT_A_MEASURE = re.compile(r"(^|[_\s])(lat|lon|lng|latitude|longitude)$|centroid", re.IGNORECASE)


class Stopwatch:
    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self.last, 4)
        self.last = now

    @property
    def total(self) -> float:
        return round(time.perf_counter() - self.start, 4)


def main_measure(measures: list[Col], stats: dict[str, dict[str, Any]]) -> str | None:
    usable = [c for c in measures if not NOT_A_MEASURE.search(c.name)] or measures
    if not usable:
        return None

    def hint(c: Col) -> int:  # by word: "total_bill", "gdpPercap", "Adj. Close" match; "discount" does not
        words = {w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", c.name)}
        return next((i for i, h in enumerate(MEASURE_HINTS) if h in words), len(MEASURE_HINTS))

    return min(usable, key=lambda c: (hint(c), -(stats[c.name].get("distinct") or 0), measures.index(c))).name


def main_category(cols: list[Col], stats: dict[str, dict[str, Any]], rows: int) -> str | None:
    usable = [
        c for c in cols
        if stats[c.name]["kind"] in ("category", "calendar", "boolean", "code")
        and 2 <= (stats[c.name].get("distinct") or 0) <= 20
        and (stats[c.name].get("count") or 0) >= 0.5 * rows
    ]
    if not usable:
        return None
    return min(usable, key=lambda c: (-(stats[c.name]["distinct"]), c.family != "text", cols.index(c))).name


def compute_profile(con: duckdb.DuckDBPyConnection, dataset: str, state: Dataset | None = None) -> dict[str, Any]:
    clock = Stopwatch()
    table = qualified_table(dataset)
    described = [(r[0], r[1]) for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] not in LINEAGE_COLUMNS]
    total = int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
    select = ", ".join(quote_ident(n) for n, _ in described) or "NULL AS _empty"
    sampled = total > SAMPLE_LIMIT
    sample = f" USING SAMPLE reservoir({SAMPLE_LIMIT} ROWS) REPEATABLE (7)" if sampled else ""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {WORK_TABLE} AS SELECT {select} FROM {table}{sample}")
    rows = min(total, SAMPLE_LIMIT)
    exact = rows <= EXACT_LIMIT
    clock.lap("load")

    cols = colmod.make_columns(described)
    stats = colmod.basic_stats(con, cols, exact)
    if sampled:  # completeness is cheap to know exactly, and decides `required` in the contract
        full = aggregate(con, {c.name: f"count({c.q})" for c in cols}, table=table)
        for c in cols:
            stats[c.name]["count_full"] = int(full[c.name])
    if not exact:
        # Recount exactly what decides kinds and keys, or is quoted in insights: columns that may be
        # unique, text, and low-cardinality numbers (codes). Only measures and times stay approximate.
        def recount(c: Col) -> bool:
            approx, nonnull = stats[c.name]["distinct"] or 0, stats[c.name]["count"] or 1
            return c.family == "text" or (c.family in ("integer", "decimal") and (approx >= 0.95 * nonnull or approx <= EXACT_DISTINCT_BELOW))

        for name, distinct in colmod.exact_distinct(con, [c for c in cols if recount(c)]).items():
            stats[name]["distinct"] = distinct
            stats[name]["distinct_exact"] = True
    for c in cols:
        s = stats[c.name]
        s["distinct_exact"] = exact or bool(s.get("distinct_exact"))
        if s["distinct_exact"]:
            s["unique"] = bool(s["count"]) and s["distinct"] == s["count"]
        else:  # time columns are confirmed by keys.primary_key only if they become the key
            s["unique"] = bool(s["count"]) and (s["distinct"] or 0) >= 0.97 * s["count"] and c.family == "time"
        s["nulls"] = rows - (s["count"] or 0)
        s["null_rate"] = s["nulls"] / rows if rows else 0.0
    clock.lap("column_stats")

    time_info = timecols.detect(con, cols, stats)
    for c in cols:
        s, info = stats[c.name], time_info.get(c.name)
        part = None if info or not s.get("count") else roles.calendar_part(con, c, s)
        s["kind"] = colmod.classify(c, s, rows, info, part)
        s["role"] = roles.role(s["kind"], info)
        s["calendar_part"] = "year" if info and info["source"] == "year" else part if s["kind"] == "calendar" else None
    clock.lap("time_columns")

    measures = [c for c in cols if stats[c.name]["kind"] == "measure"]
    distributions.describe(con, measures, stats)
    clock.lap("distributions")

    def worth_counting(c: Col) -> bool:  # a time axis with (nearly) one row per instant has no "top values"
        s = stats[c.name]
        if s["kind"] == "time":
            return (s["distinct"] or 0) <= max(50, 0.5 * (s["count"] or 0))
        return s["kind"] in ("category", "calendar", "code", "boolean", "text", "other")

    for c in [c for c in cols if worth_counting(c)][:MAX_TOP_VALUE_COLUMNS]:
        top = colmod.top_values(con, c)
        nonnull = stats[c.name]["count"] or 1
        stats[c.name]["top_values"] = [{"value": v, "count": int(n), "share": n / nonnull} for v, n in top]
    clock.lap("top_values")

    measure_name = main_measure(measures, stats)
    if measure_name:  # the main measure leads every list (correlations, trends)
        measures.sort(key=lambda c: c.name != measure_name)
    correlation = correlations.correlate(con, measures)
    clock.lap("correlations")

    time_column = timecols.main_time_column(time_info)
    trend = trends.over_time(con, time_column, time_info[time_column], measures) if time_column else None
    clock.lap("trend")

    category_name = main_category(cols, stats, rows)
    by_name = {c.name: c for c in cols}
    segment = segments.split(con, by_name[category_name], by_name[measure_name]) if category_name and measure_name else None
    key, duplicates = keys.key_and_duplicates(con, cols, stats, rows)
    clock.lap("keys_and_segments")
    con.execute(f"DROP TABLE IF EXISTS {WORK_TABLE}")

    profile: dict[str, Any] = {
        "version": PROFILE_VERSION,
        "dataset": dataset,
        "table": f"lake.{table}",
        "profiled_at": datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
        "fingerprint": state.fingerprint if state else None,
        "source_files": list(state.files) if state else [],
        "rows": total,
        "profiled_rows": rows,
        "sampled": sampled,
        "exact": exact,
        # Quantiles are exact on the rows profiled: all of them, or the sample (then approximate).
        "quantiles_from": {"rows": rows, "sample": sampled},
        "columns": [
            {"name": c.name, "type": c.type, "family": c.family, **jsonable(stats[c.name]), "time": time_info.get(c.name)}
            for c in cols
        ],
        "time_columns": list(time_info),
        "main_time": time_column,
        "measures": [c.name for c in measures],
        "main_measure": measure_name,
        "main_category": category_name,
        "correlations": correlation,
        "trend": trend,
        "segments": segment,
        "primary_key": key,
        "duplicate_rows": duplicates,
    }
    profile = jsonable(profile)
    profile["insights"] = generate(profile)
    clock.lap("insights")
    profile["timings"] = {**clock.laps, "total": clock.total}
    return profile

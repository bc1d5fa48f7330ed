"""Which columns are time: typed dates/timestamps, text that parses as dates, year numbers, epochs.

Each detected column comes with the SQL expression that turns it into a TIMESTAMP, so trends
work the same whatever the column's storage (a CSV with ``19-Sep-03`` dates stays VARCHAR after
DuckDB's inference, but is still a time axis).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import duckdb

from analytics_platform.defs.reports.profiles.columns import Col
from analytics_platform.defs.reports.profiles.sql import WORK_TABLE, aggregate, jsonable

# Tried in order; the first with the best parse rate wins (ISO is handled by a plain cast).
TEXT_FORMATS = (
    "%m/%d/%Y", "%d/%m/%Y", "%m/%d/%y", "%d/%m/%y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d",
    "%d-%b-%y", "%d-%b-%Y", "%d %b %Y", "%b %d, %Y", "%B %d, %Y", "%d %B %Y", "%b %Y", "%Y-%m",
    "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%d.%m.%Y %H:%M",
    "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z",
)
MIN_PARSE_RATE = 0.95
SAMPLE = 2000
YEAR_NAME = re.compile(r"(^|[_\s.])(year|yr|yyyy|jahr|annee|année|anno|ano|año)s?$|^(year|yr)[_\s]|[a-z]Year$", re.IGNORECASE)
DATE_NAME = re.compile(r"date|day|dt$|time|period", re.IGNORECASE)
EPOCH_NAME = re.compile(r"time|date|epoch|unix|(^|[_\s.])ts$|^ts[_\s]|created|updated|modified|[_\s]at$|[a-z]At$", re.IGNORECASE)
# Unix epoch in seconds, milliseconds or microseconds, 1980-01-01 to 2100-01-01: (unit, low, high, to microseconds)
EPOCH_UNITS = (("epoch seconds", 315532800, 4102444800, 1_000_000), ("epoch milliseconds", 315532800e3, 4102444800e3, 1000),
               ("epoch microseconds", 315532800e6, 4102444800e6, 1))


def _text_candidates(con: duckdb.DuckDBPyConnection, col: Col) -> tuple[str, str] | None:
    """(format, SQL expression) under which ≥95% of a sample of distinct values parse, if any."""
    v = "v"
    probes = {"iso": f"count(TRY_CAST({v} AS TIMESTAMP))"}
    probes.update({fmt: f"count(try_strptime({v}, '{fmt}'))" for fmt in TEXT_FORMATS})
    probes["n"] = "count(*)"
    probes["digits"] = "count(*) FILTER (WHERE regexp_matches(v, '[0-9]'))"
    rows = f"(SELECT trim({col.q}::VARCHAR) AS v FROM {WORK_TABLE} WHERE {col.q} IS NOT NULL AND trim({col.q}::VARCHAR) <> '' LIMIT {SAMPLE * 10})"
    sample = f"(SELECT DISTINCT v FROM {rows} LIMIT {SAMPLE})"
    counts = aggregate(con, {"n": probes["n"], "digits": probes["digits"]}, table=sample)
    n = counts["n"]
    if not n or counts["digits"] < MIN_PARSE_RATE * n:  # every format has digits: names, codes, words are not dates
        return None
    counts = aggregate(con, {k: v for k, v in probes.items() if k not in ("n", "digits")}, table=sample)
    best = max(counts, key=lambda k: counts[k])  # dicts keep order: ISO, then TEXT_FORMATS order
    if counts[best] < MIN_PARSE_RATE * n:
        return None
    text = f"trim({col.q}::VARCHAR)"
    if best == "iso":
        return "ISO 8601", f"TRY_CAST({text} AS TIMESTAMP)"
    return best, f"try_strptime({text}, '{best}')::TIMESTAMP"


def detect(con: duckdb.DuckDBPyConnection, cols: list[Col], stats: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Column name → time description (source, format, expression, parse rate, range)."""
    found: dict[str, dict[str, Any]] = {}
    for c in cols:
        s = stats[c.name]
        if not s.get("count"):
            continue
        if c.family == "time":
            found[c.name] = {"source": "typed", "format": c.type, "expr": f"{c.q}::TIMESTAMP"}
        elif c.family == "text" and (s.get("max_length") or 0) <= 40 and (s.get("min_length") or 0) >= 6:
            hit = _text_candidates(con, c)
            if hit:
                found[c.name] = {"source": "text", "format": hit[0], "expr": hit[1]}
        elif c.numeric and s.get("integral") and s.get("min") is not None:
            lo, hi = s["min"], s["max"]
            if YEAR_NAME.search(c.name) and 1000 <= lo and hi <= 2200:
                found[c.name] = {"source": "year", "format": "year number", "expr": f"make_date({c.q}::INTEGER, 1, 1)::TIMESTAMP"}
            elif DATE_NAME.search(c.name) and 19000101 <= lo and hi <= 21001231:
                found[c.name] = {"source": "yyyymmdd", "format": "%Y%m%d", "expr": f"try_strptime({c.q}::BIGINT::VARCHAR, '%Y%m%d')::TIMESTAMP"}
        if c.numeric and c.name not in found and s.get("min") is not None and EPOCH_NAME.search(c.name):
            epoch = next((u for u in EPOCH_UNITS if u[1] <= s["min"] and s["max"] <= u[2]), None)
            if epoch:  # a time written as a number: averaged, it would be nonsense
                found[c.name] = {"source": "epoch", "format": epoch[0], "expr": f"make_timestamp(({c.x} * {epoch[3]})::BIGINT)"}
    if found:
        exprs = {}
        for name, info in found.items():
            exprs[(name, "parsed")] = f"count({info['expr']})"
            exprs[(name, "min")] = f"min({info['expr']})"
            exprs[(name, "max")] = f"max({info['expr']})"
            exprs[(name, "distinct")] = f"approx_count_distinct({info['expr']})"
        values = aggregate(con, exprs)
        for name, info in list(found.items()):
            nonnull = stats[name]["count"]
            parsed = values[(name, "parsed")] or 0
            if info["source"] != "typed" and parsed < MIN_PARSE_RATE * nonnull:
                del found[name]  # the sample parsed, the whole column does not
                continue
            lo, hi = values[(name, "min")], values[(name, "max")]
            info.update(
                parse_rate=parsed / nonnull if nonnull else 0.0,
                min=jsonable(lo),
                max=jsonable(hi),
                span_days=(hi - lo).total_seconds() / 86400 if isinstance(lo, dt.datetime) and isinstance(hi, dt.datetime) else 0.0,
                distinct=values[(name, "distinct")],
            )
    return found


def main_time_column(found: dict[str, dict[str, Any]]) -> str | None:
    """Typed columns first, then text dates, then year numbers; the one with most distinct instants."""
    rank = {"typed": 0, "text": 1, "epoch": 1, "yyyymmdd": 2, "year": 3}
    usable = [(rank[i["source"]], -(i.get("distinct") or 0), n) for n, i in found.items() if (i.get("distinct") or 0) >= 2]
    return min(usable)[2] if usable else None

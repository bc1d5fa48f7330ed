"""Every insight of every profiled dataset is true: what it states is recomputed with independent
SQL on the warehouse table."""

from __future__ import annotations

import math
import re
from typing import Any

import duckdb
import numpy as np
import pytest

from analytics_platform.defs.ingestion.contracts import quote_ident
from analytics_platform.defs.reports.profiles.trends import label
from tests.reports.profile_datasets import ALL


def _verify(con: duckdb.DuckDBPyConnection, p: dict[str, Any], insight: dict[str, Any]) -> None:
    """Recompute what the insight states with independent SQL on the warehouse table."""
    table = f"uncontracted.{quote_ident(p['dataset'])}"
    cols = {c["name"]: c for c in p["columns"]}

    def q(name: str) -> str:
        return quote_ident(name)

    def x(name: str) -> str:
        return f"(CASE WHEN isfinite({q(name)}::DOUBLE) THEN {q(name)}::DOUBLE END)"

    def one(sql: str) -> Any:
        return con.execute(sql).fetchone()

    kind = insight["kind"]
    assert re.search(r"\d", insight["text"]), f"insight without a number: {insight['text']}"
    if kind == "correlation":
        r, n = one(f"SELECT corr({x(insight['a'])}, {x(insight['b'])}), regr_count({x(insight['a'])}, {x(insight['b'])}) FROM {table}")
        assert insight["r"] == pytest.approx(r, abs=1e-9) and insight["n"] == n
        assert f"{r:.2f}" in insight["text"]
    elif kind == "top_category":
        col = q(insight["column"])
        literal = "'" + str(insight["value"]).replace("'", "''") + "'"
        n, nonnull = one(f"SELECT count(*) FILTER (WHERE {col}::VARCHAR = ?), count({col}) FROM {table}".replace("?", literal))
        assert insight["count"] == n and insight["share"] == pytest.approx(n / nonnull)
        most = one(f"SELECT max(c) FROM (SELECT count(*) c FROM {table} WHERE {q(insight['column'])} IS NOT NULL GROUP BY {q(insight['column'])})")[0]
        assert n == most
        assert f"{100 * n / nonnull:.1f}%" in insight["text"]
    elif kind == "nulls":
        nulls, rows = one(f"SELECT count(*) - count({q(insight['column'])}), count(*) FROM {table}")
        assert insight["nulls"] == nulls and insight["null_rate"] == pytest.approx(nulls / rows)
        assert f"{100 * nulls / rows:.1f}%" in insight["text"]
    elif kind == "completeness":
        names = list(cols)
        filled = one(f"SELECT ({' + '.join(f'count({q(n)})' for n in names)}) / (count(*) * {len(names)}) FROM {table}")[0]
        assert insight["filled"] == pytest.approx(filled)
    elif kind == "outliers":
        if insight["count"]:
            xc = x(insight["column"])
            n, finite = one(f"SELECT count(*) FILTER (WHERE {xc} < {insight['low']!r} OR {xc} > {insight['high']!r}), count({xc}) FROM {table}")
            assert insight["count"] == n and insight["share"] == pytest.approx(n / finite)
        else:
            for c in p["columns"]:
                if c["kind"] == "measure" and c["outliers"]["low"] is not None:
                    o = c["outliers"]
                    assert one(f"SELECT count(*) FILTER (WHERE {x(c['name'])} < {o['low']!r} OR {x(c['name'])} > {o['high']!r}) FROM {table}")[0] == 0
    elif kind == "skew":
        g, mean, median = one(f"SELECT skewness({x(insight['column'])}), avg({x(insight['column'])}), median({x(insight['column'])}) FROM {table}")
        assert insight["skewness"] == pytest.approx(g, rel=1e-6) and insight["mean"] == pytest.approx(mean) and insight["median"] == pytest.approx(median)
        others = [one(f"SELECT abs(skewness({x(c['name'])})) FROM {table}")[0] or 0 for c in p["columns"] if c["kind"] == "measure"]
        assert abs(g) == pytest.approx(max(others))
    elif kind == "segment":
        cat, measure = insight["columns"]
        rows = dict(con.execute(f"SELECT {q(cat)}::VARCHAR, avg({x(measure)}) FROM {table} WHERE {q(cat)} IS NOT NULL GROUP BY 1").fetchall())
        assert rows[insight["highest"]] == pytest.approx(insight["highest_mean"]) and rows[insight["lowest"]] == pytest.approx(insight["lowest_mean"])
        shown = [g["value"] for g in p["segments"]["groups"]]
        assert insight["highest_mean"] == pytest.approx(max(rows[v] for v in shown if rows[v] is not None))
    elif kind == "trend":
        t = p["trend"]
        expr = cols[t["time_column"]]["time"]["expr"]
        xm = x(insight["measure"])
        points = con.execute(
            f"SELECT date_trunc('{t['grain']}', {expr}) AS p, avg({xm}) FROM {table} WHERE {expr} IS NOT NULL GROUP BY 1 HAVING count({xm}) > 0 ORDER BY 1"
        ).fetchall()
        # over the common span of the trended measures only (a later-starting series must not stretch the comparison)
        shown = [label(pt, t["grain"]) for pt, _ in points]
        points = points[shown.index(insight["first_period"]) : shown.index(insight["last_period"]) + 1]
        for name, f in t["fits"].items():
            if f:
                ends = con.execute(f"SELECT count({x(name)}) FILTER (WHERE date_trunc('{t['grain']}', {expr}) = ?), count({x(name)}) FILTER "
                           f"(WHERE date_trunc('{t['grain']}', {expr}) = ?) FROM {table}", [points[0][0], points[-1][0]]).fetchone()
                assert min(ends) > 0, f"{name} has no value at an end of the compared span"
        days = np.array([(pt - points[0][0]).total_seconds() / 86400 for pt, _ in points])
        ys = np.array([v for _, v in points])
        log = ys.min() > 0 and ys.max() / ys.min() >= 10
        slope, intercept = np.polyfit(days, np.log(ys) if log else ys, 1)
        start, end = intercept, intercept + slope * days[-1]
        start, end = (math.exp(start), math.exp(end)) if log else (start, end)
        assert insight["start"] == pytest.approx(start, rel=1e-6) and insight["end"] == pytest.approx(end, rel=1e-6)
        if insight["pct_change"] is not None:
            assert insight["pct_change"] == pytest.approx((end - start) / abs(start) * 100, rel=1e-6)
        if insight["direction"] != "flat":
            assert (slope > 0) == (insight["direction"] == "up")
    elif kind == "time_coverage":
        expr = cols[insight["column"]]["time"]["expr"]
        lo, hi = one(f"SELECT min({expr}), max({expr}) FROM {table}")
        assert insight["min"] == lo.isoformat() and insight["max"] == hi.isoformat()
        assert str(lo)[:10] in insight["text"] and str(hi)[:10] in insight["text"]
    elif kind == "date_text":
        info = cols[insight["column"]]["time"]
        parsed, nonnull = one(f"SELECT count({info['expr']}), count({q(insight['column'])}) FROM {table}")
        assert insight["parse_rate"] == pytest.approx(parsed / nonnull) and parsed / nonnull >= 0.95
    elif kind == "key":
        key = insight["primary_key"]
        if key:
            cols_sql = ", ".join(q(k) for k in key)
            distinct = one(f"SELECT count(*) FROM (SELECT DISTINCT {cols_sql} FROM {table})")[0]
            rows, nulls = one(f"SELECT count(*), count(*) FILTER (WHERE {' OR '.join(f'{q(k)} IS NULL' for k in key)}) FROM {table}")
            assert distinct == rows and nulls == 0
    elif kind == "duplicates":
        names = ", ".join(q(n) for n in cols)
        rows, distinct = one(f"SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT {names} FROM {table})) FROM {table}")
        assert insight["duplicates"] == rows - distinct
    elif kind == "shape":
        assert insight["rows"] == one(f"SELECT count(*) FROM {table}")[0]
        assert insight["column_count"] == len(con.execute(f"DESCRIBE {table}").fetchall()) - 3  # lineage columns
    elif kind == "spread":
        xc = x(insight["column"])
        stats = one(f"SELECT quantile_cont({xc}, 0.25), quantile_cont({xc}, 0.75), median({xc}), min({xc}), max({xc}) FROM {table}")
        assert [insight[k] for k in ("q25", "q75", "median", "min", "max")] == pytest.approx(list(stats))
    elif kind == "text_lengths":
        col = q(insight["column"])
        assert [insight[k] for k in ("min_length", "max_length", "avg_length", "distinct")] == pytest.approx(
            list(one(f"SELECT min(length({col})), max(length({col})), avg(length({col})), count(DISTINCT {col}) FROM {table}"))
        )
    elif kind == "constant":
        for name in insight["columns"]:
            assert one(f"SELECT count(DISTINCT {q(name)}) FROM {table}")[0] <= 1
    else:
        raise AssertionError(f"unverified insight kind {kind}")


@pytest.mark.parametrize("dataset", ALL)
def test_every_insight_is_true_of_the_data(profiled: dict[str, Any], dataset: str) -> None:
    p = profiled["profiles"][dataset]
    assert len(p["insights"]) >= 5, [i["text"] for i in p["insights"]]
    with profiled["warehouse"].connect(read_only=True) as con:
        for insight in p["insights"]:
            _verify(con, p, insight)

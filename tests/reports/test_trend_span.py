"""Trends compare measures over the span they share, never a later-starting series against the rest.

matplotlib's ``Stocks.csv`` (real Yahoo Finance prices, 1990–2022) holds series that start late:
GOOGL in 2004, AMZN in 1997, DELL only for a few years. The span the profile compares is
recomputed here from the raw file with Python's csv module.
"""

from __future__ import annotations

import csv
from typing import Any

from analytics_platform.defs.reports.profiles.trends import MIN_COVERAGE


def _years_with_values(path) -> tuple[list[int], dict[str, list[int]]]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    years = sorted({int(r["Date"][:4]) for r in rows})
    series = {name: sorted({int(r["Date"][:4]) for r in rows if r[name] != ""}) for name in rows[0] if name != "Date"}
    return years, series


def test_mpl_stocks_are_compared_over_their_common_span(profiled: dict[str, Any]) -> None:
    p = profiled["profiles"]["mpl_stocks"]
    years, series = _years_with_values(profiled["files"]["mpl_stocks"])
    axis = list(range(years[0], years[-1] + 1))  # yearly periods with data: every year has rows
    assert p["trend"]["periods"] == [str(y) for y in axis if y in years]
    long = {name: ys for name, ys in series.items() if ys and ys[-1] - ys[0] + 1 >= MIN_COVERAGE * len(p["trend"]["periods"])}
    short = sorted(set(series) - set(long))
    assert {"GOOGL", "DELL"} <= set(short)  # listed in 2004, and a few years only
    first, last = max(ys[0] for ys in long.values()), min(ys[-1] for ys in long.values())
    span = p["trend"]["span"]
    assert (span["first"], span["last"], sorted(span["short_series"])) == (str(first), str(last), short)
    assert all(p["trend"]["fits"][name] is None for name in short)
    assert all(p["trend"]["fits"][name]["periods"] == sum(first <= y <= last for y in ys) for name, ys in long.items())
    for insight in [i for i in p["insights"] if i["kind"] == "trend"]:
        assert insight["measure"] not in short, insight["text"]
        assert (insight["first_period"], insight["last_period"]) == (str(first), str(last))
        assert f"({first})" in insight["text"] and f"({last})" in insight["text"]

"""Column roles on real public data (plotly's and scikit-learn's bundled datasets), and the rule
that insights, charts and trends aggregate measures only.

The files are landed and ingested by ``raw_tables`` as the platform does, then profiled. Two
files are real data re-encoded as producers often do: plotly's ``stocks`` with its dates written
as Unix epoch seconds and milliseconds. Known answers are recomputed with Python's csv module on
the raw files.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from analytics_platform.defs.ingestion.assets import raw_tables
from analytics_platform.defs.reports.profiles.dashboard import figures
from analytics_platform.defs.reports.profiles.profile import compute_profile
from analytics_platform.resources import WarehouseResource
from tests.reports.profile_datasets import PLOTLY_DATA, RUN_CONFIG, one_insight

PLOTLY = ("gapminder", "tips", "carshare", "election", "iris", "stocks", "medals", "wind", "experiment")
# Insight kinds and the fields naming the columns they average, correlate, fit or count as numbers.
AGGREGATED = {"trend": ("measure",), "correlation": ("a", "b"), "outliers": ("column",), "skew": ("column",), "spread": ("column",)}

EXPECTED_ROLES = {
    "gapminder": {"year": ("calendar", "year"), "iso_num": ("code", None), "lifeExp": ("measure", None), "pop": ("measure", None),
                  "gdpPercap": ("measure", None), "country": ("category", None), "continent": ("category", None)},
    "tips": {"day": ("calendar", "weekday"), "time": ("category", None), "sex": ("category", None), "total_bill": ("measure", None),
             "tip": ("measure", None)},
    "carshare": {"peak_hour": ("calendar", "hour"), "car_hours": ("measure", None)},
    "election": {"district_id": ("identifier", None), "district": ("identifier", None), "winner": ("category", None),
                 "Coderre": ("measure", None), "total": ("measure", None)},
    "iris": {"species_id": ("code", None), "species": ("category", None), "sepal_length": ("measure", None)},
    "stocks": {"date": ("timestamp", None), "GOOG": ("measure", None)},
    "stocks_epoch": {"timestamp": ("timestamp", None), "time_ms": ("timestamp", None), "AAPL": ("measure", None)},
    "medals": {"nation": ("identifier", None), "gold": ("measure", None)},
    "wind": {"direction": ("category", None), "strength": ("category", None), "frequency": ("measure", None)},
    "experiment": {"experiment_1": ("measure", None), "gender": ("category", None), "group": ("category", None)},
    "wine": {"target": ("category", None), "alcohol": ("measure", None)},
    "diabetes": {"sex": ("category", None), "age": ("measure", None), "bmi": ("measure", None)},
    "linnerud": {"Chins": ("measure", None), "Situps": ("measure", None)},
}


def _land(landing: Path) -> dict[str, Path]:
    from sklearn.datasets import load_diabetes, load_linnerud, load_wine

    files = {}
    for name in PLOTLY:
        files[name] = landing / name / f"{name}.csv"
        files[name].parent.mkdir(parents=True)
        files[name].write_bytes(gzip.decompress((PLOTLY_DATA / f"{name}.csv.gz").read_bytes()))
    for name, frame in (("wine", load_wine(as_frame=True).frame), ("diabetes", load_diabetes(scaled=False, as_frame=True).frame),
                        ("linnerud", load_linnerud(as_frame=True).data)):
        files[name] = landing / name / f"{name}.csv"
        files[name].parent.mkdir(parents=True)
        frame.to_csv(files[name], index=False)
    with files["stocks"].open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    files["stocks_epoch"] = landing / "stocks_epoch" / "stocks_epoch.csv"
    files["stocks_epoch"].parent.mkdir(parents=True)
    with files["stocks_epoch"].open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["timestamp", "time_ms", "AAPL", "MSFT"])
        for r in rows:
            seconds = int(dt.datetime.fromisoformat(r["date"]).replace(tzinfo=dt.UTC).timestamp())
            out.writerow([seconds, seconds * 1000 + 250, r["AAPL"], r["MSFT"]])
    return files


@pytest.fixture(scope="module")
def profiles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("roles")
    files = _land(tmp / "landing")
    warehouse = WarehouseResource(state_dir=str(tmp / "state"), landing_dir=str(tmp / "landing"))
    result = dg.materialize([raw_tables], resources={"warehouse": warehouse}, selection=[dg.AssetKey(["raw", "uncontracted"])], run_config=RUN_CONFIG)
    assert result.success
    with warehouse.connect(read_only=True) as con:
        return {"files": files, **{name: compute_profile(con, name) for name in files}}


def _columns(p: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in p["columns"]}


@pytest.mark.parametrize("dataset", sorted(EXPECTED_ROLES))
def test_named_columns_get_their_role(profiles: dict[str, Any], dataset: str) -> None:
    cols = _columns(profiles[dataset])
    got = {name: (cols[name]["role"], cols[name]["calendar_part"]) for name in EXPECTED_ROLES[dataset]}
    assert got == EXPECTED_ROLES[dataset]


@pytest.mark.parametrize("dataset", sorted(EXPECTED_ROLES))
def test_only_measures_are_aggregated(profiles: dict[str, Any], dataset: str) -> None:
    p = profiles[dataset]
    cols = _columns(p)
    assert all(c["role"] in ("timestamp", "calendar", "identifier", "code", "category", "text", "measure", "other") for c in p["columns"])
    for insight in p["insights"]:
        for field in AGGREGATED.get(insight["kind"], ()):
            assert cols[insight[field]]["role"] == "measure", insight["text"]
        if insight["kind"] == "segment":
            group, measure = insight["columns"]
            assert cols[measure]["role"] == "measure" and cols[group]["role"] in ("category", "calendar", "code"), insight["text"]
        if insight["kind"] == "trend":
            assert cols[insight["time_column"]]["role"] in ("timestamp", "calendar"), insight["text"]
    aggregated = set(p["measures"]) | set((p.get("trend") or {}).get("series") or {}) | set((p.get("correlations") or {}).get("columns") or [])
    assert {cols[name]["role"] for name in aggregated} <= {"measure"}
    charted = {f["layout"]["title"]["text"].split(" — ")[0] for f in figures(p)["Distributions"]}  # "<column> — median …"
    assert charted <= set(p["measures"]), charted


def test_epoch_columns_are_the_time_axis(profiles: dict[str, Any]) -> None:
    p, cols = profiles["stocks_epoch"], _columns(profiles["stocks_epoch"])
    assert cols["timestamp"]["time"]["format"] == "epoch seconds" and cols["time_ms"]["time"]["format"] == "epoch milliseconds"
    with profiles["files"]["stocks"].open(newline="") as handle:
        dates = [r["date"] for r in csv.DictReader(handle)]
    assert p["main_time"] == "timestamp"
    assert cols["timestamp"]["time"]["min"] == f"{min(dates)}T00:00:00" and cols["timestamp"]["time"]["max"] == f"{max(dates)}T00:00:00"
    assert p["trend"]["time_column"] == "timestamp" and set(p["trend"]["series"]) == {"AAPL", "MSFT"}


def test_segment_by_weekday_matches_python_on_the_raw_file(profiles: dict[str, Any]) -> None:
    """Known answer: tips' average bill per weekday, recomputed from the raw CSV."""
    by_day: dict[str, list[float]] = defaultdict(list)
    with profiles["files"]["tips"].open(newline="") as handle:
        for row in csv.DictReader(handle):
            by_day[row["day"]].append(float(row["total_bill"]))
    means = {day: statistics.fmean(v) for day, v in by_day.items()}
    insight = one_insight(profiles["tips"], "segment")
    assert insight["columns"] == ["day", "total_bill"]
    assert insight["highest"] == max(means, key=means.__getitem__) and insight["highest_mean"] == pytest.approx(max(means.values()), rel=1e-12)
    assert insight["lowest"] == min(means, key=means.__getitem__) and insight["lowest_mean"] == pytest.approx(min(means.values()), rel=1e-12)

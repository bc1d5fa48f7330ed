"""Medians and quartiles in a profile are exact, whatever the table's size, or labelled as coming
from a sample: checked against Python's ``statistics`` on the raw public file."""

from __future__ import annotations

import csv
import gzip
import io
import statistics

import pytest

from analytics_platform.defs.ingestion.contracts import load_contracts
from analytics_platform.defs.ingestion.files import scan_landing
from analytics_platform.defs.ingestion.loader import ingest
from analytics_platform.defs.reports.profiles import profile as profile_module
from analytics_platform.defs.reports.profiles.profile import compute_profile
from tests.reports.profile_datasets import PLOTLY_DATA

MEASURES = ("lifeExp", "pop", "gdpPercap")


@pytest.fixture
def gapminder(platform):
    text = gzip.decompress((PLOTLY_DATA / "gapminder.csv.gz").read_bytes()).decode()
    (platform.landing / "gapminder").mkdir()
    (platform.landing / "gapminder" / "gapminder.csv").write_text(text)
    with platform.warehouse.connect() as con:
        ingest(con, scan_landing(platform.landing, 0), load_contracts(), platform.settings.quarantine_dir, "r")
    return platform, list(csv.DictReader(io.StringIO(text)))


def test_quantiles_are_exact_above_the_exact_limit(gapminder, monkeypatch):
    platform, rows = gapminder
    # 1,704 rows profiled as a "large" table (above EXACT_LIMIT, where distinct counts turn approximate).
    monkeypatch.setattr(profile_module, "EXACT_LIMIT", 100)
    with platform.warehouse.connect() as con:
        p = compute_profile(con, "gapminder")
    columns = {c["name"]: c for c in p["columns"]}
    for name in MEASURES:
        values = [float(r[name]) for r in rows]
        q25, median, q75 = statistics.quantiles(values, n=4, method="inclusive")  # linear interpolation
        assert columns[name]["median"] == pytest.approx(statistics.median(values), rel=1e-12), name
        assert (columns[name]["q25"], columns[name]["q75"]) == pytest.approx((q25, q75), rel=1e-12), name
        mad = statistics.median(abs(v - median) for v in values)
        assert columns[name]["mad"] == pytest.approx(mad, rel=1e-12), name
    assert not p["exact"] and p["quantiles_from"] == {"rows": len(rows), "sample": False}
    assert "≈" not in " ".join(i["text"] for i in p["insights"])


def test_medians_from_a_sample_say_so(gapminder, monkeypatch):
    platform, _ = gapminder
    monkeypatch.setattr(profile_module, "SAMPLE_LIMIT", 1000)
    with platform.warehouse.connect() as con:
        p = compute_profile(con, "gapminder")
    assert p["sampled"] and p["quantiles_from"] == {"rows": 1000, "sample": True}
    spread = next(i for i in p["insights"] if i["kind"] == "spread")
    assert "median (≈, sample of 1,000 rows)" in spread["text"]

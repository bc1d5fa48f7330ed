"""The profile's statistics state what is known about the data: the truths planted in a generated
dataset (correlation, growth, outliers, empty values, shares, keys, text dates), what is known of
real public datasets, and a million rows profiled in seconds."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analytics_platform.defs.reports.profiles.profile import compute_profile
from analytics_platform.resources import WarehouseResource
from tests.reports.profile_datasets import NULL_SHARE, OUTLIER_SHARE, PLANTED_R, REGIONS, N, one_insight


def test_planted_truths_are_stated_with_correct_numbers(profiled: dict[str, Any]) -> None:
    p, frame = profiled["profiles"]["planted__orders"], profiled["frame"]
    assert len(p["insights"]) >= 5

    corr = one_insight(p, "correlation")
    assert {corr["a"], corr["b"]} == {"ad_spend", "visits"}
    true_r = float(np.corrcoef(frame["ad_spend"], frame["visits"])[0, 1])
    assert corr["r"] == pytest.approx(true_r, abs=1e-9) and abs(corr["r"] - PLANTED_R) < 0.02
    assert f"r = {true_r:.2f}" in corr["text"] and corr["n"] == N

    trend = one_insight(p, "trend", measure="amount")
    assert trend["direction"] == "up" and trend["r2"] > 0.9 and trend["time_column"] == "order_date"
    # planted: +50% over the year; the fitted line runs from the first to the last period's start
    assert 44 <= trend["pct_change"] <= 54, trend["text"]
    assert f"{trend['pct_change']:+.1f}%" in trend["text"] and "rises" in trend["text"]

    out = one_insight(p, "outliers")
    true_share = sum(1 for v in frame["delivery_minutes"] if not (out["low"] <= v <= out["high"])) / N
    assert out["column"] == "delivery_minutes" and out["share"] == pytest.approx(true_share)
    assert OUTLIER_SHARE <= out["share"] <= OUTLIER_SHARE + 0.003, out["text"]
    assert f"{100 * out['share']:.1f}%" in out["text"]

    nulls = one_insight(p, "nulls", column="coupon_code")
    assert nulls["null_rate"] == NULL_SHARE and "65.0%" in nulls["text"] and f"{int(NULL_SHARE * N):,}" in nulls["text"]

    top = one_insight(p, "top_category", column="region")
    assert top["value"] == "north" and top["share"] == REGIONS["north"] and "40.0%" in top["text"]

    assert one_insight(p, "key")["primary_key"] == ["order_id"]
    shipped = one_insight(p, "date_text", column="shipped_on")
    assert shipped["format"] == "%d/%m/%Y" and shipped["parse_rate"] == 1.0



def test_real_datasets_say_what_is_known_about_them(profiled: dict[str, Any]) -> None:
    profiles = profiled["profiles"]
    tips = profiles["tips"]
    assert {one_insight(tips, "correlation")["a"], one_insight(tips, "correlation")["b"]} == {"total_bill", "tip"}
    assert one_insight(tips, "top_category", column="day")["value"] == "Sat"
    gap = profiles["gapminder"]
    assert gap["main_time"] == "year" and gap["primary_key"] == ["country", "year"]
    assert one_insight(gap, "trend")["direction"] == "up"  # world GDP per capita grew from 1952 to 2007
    assert one_insight(gap, "top_category", column="continent")["value"] == "Africa"
    assert one_insight(profiles["msft"], "date_text", column="Date")["format"] == "%d-%b-%y"
    stocks = profiles["mpl_stocks"]
    assert stocks["main_time"] == "Date" and one_insight(stocks, "nulls", column="DELL")["null_rate"] > 0.5
    wide = profiles["breast_cancer"]
    assert len(wide["columns"]) == 31 and len(wide["correlations"]["columns"]) == 30
    assert abs(one_insight(wide, "correlation")["r"]) > 0.99  # radius, perimeter and area are near-collinear
    assert {c["kind"] for c in profiles["wind"]["columns"]} == {"category", "measure"}



def test_profiles_a_million_rows_in_seconds(tmp_path: Path) -> None:
    warehouse = WarehouseResource(state_dir=str(tmp_path / "state"), landing_dir=str(tmp_path / "landing"))
    with warehouse.connect() as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS uncontracted")
        con.execute(
            """
            CREATE TABLE uncontracted.big AS
            SELECT range + 1 AS event_id,
                   TIMESTAMP '2024-01-01' + to_seconds(range * 31) AS occurred_at,
                   ['web', 'app', 'store', 'partner'][1 + (hash(range) % 4)::INT] AS channel,
                   'customer_' || (hash(range * 7) % 50000)::VARCHAR AS customer,
                   round(20 + range / 20000.0 + 10 * random(), 2) AS amount,
                   round(random() * 100, 1) AS score,
                   CASE WHEN random() < 0.3 THEN NULL ELSE round(random() * 5, 1) END AS rating,
                   random() < 0.1 AS returned,
                   NULL::VARCHAR AS _source_file, NULL::VARCHAR AS _file_hash, NULL::TIMESTAMP AS _loaded_at
            FROM range(1000000)
            """
        )
        start = time.perf_counter()
        p = compute_profile(con, "big")
        elapsed = time.perf_counter() - start
    print(f"\n1M rows × 8 columns profiled in {elapsed:.2f} s: {p['timings']}")
    assert p["rows"] == 1_000_000 and p["primary_key"] == ["event_id"] and not p["exact"]
    assert one_insight(p, "trend", measure="amount")["direction"] == "up"
    assert one_insight(p, "nulls", column="rating")["null_rate"] == pytest.approx(0.3, abs=0.01)
    assert elapsed < float(os.environ.get("PROFILE_1M_BUDGET_S", "20")), elapsed

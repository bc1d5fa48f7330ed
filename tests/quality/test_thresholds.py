"""The threshold seed is validated at load; conditions and scoping behave as documented."""

from __future__ import annotations

import pytest

from analytics_platform.defs.quality.thresholds import CONDITIONS, METRICS, THRESHOLDS_SEED, Threshold, load_thresholds


def test_seed_loads_into_checks_on_marts():
    thresholds = load_thresholds()
    assert thresholds and len({t.check_name for t in thresholds}) == len(thresholds)
    assert {t.asset_key.path[0] for t in thresholds} <= {"fct_daily_revenue", "funnel_daily"}
    assert {t.channel for t in thresholds} <= {"log", "webhook"}
    assert THRESHOLDS_SEED.name == "metric_thresholds.csv"


@pytest.mark.parametrize(
    ("row", "error"),
    [("daily_profit,>=,1,log,all,WARN,x", "unknown metric"), ("daily_revenue,=>,1,log,all,WARN,x", "unknown condition")],
)
def test_invalid_rows_fail_loudly(tmp_path, row, error):
    seed = tmp_path / "metric_thresholds.csv"
    seed.write_text("metric,condition,threshold,channel,marketing_channel,severity,description\n" + row + "\n")
    with pytest.raises(ValueError, match=error):
        load_thresholds(seed)


def test_check_names_are_readable_and_scoped():
    t = Threshold("session_conversion_rate", ">=", 0.001, "log", "paid_search", "WARN", "")
    assert t.check_name == "threshold_session_conversion_rate_paid_search_min_0_001"
    assert CONDITIONS[t.condition](0.002, t.threshold) and not CONDITIONS[t.condition](0.0, t.threshold)
    assert set(METRICS) >= {"daily_revenue", "daily_orders", "daily_sessions", "session_conversion_rate", "cancellation_rate"}

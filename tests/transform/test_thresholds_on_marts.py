"""Metric threshold checks (seed metric_thresholds.csv) evaluated on the real marts."""

from __future__ import annotations

import dagster as dg

from analytics_platform.defs.quality.thresholds import Threshold, build_threshold_checks, load_thresholds

from .support import query, resources


def test_seeded_thresholds_pass_on_the_generated_shop(built):
    checks = build_threshold_checks()
    result = dg.materialize([checks], resources=resources(built.state), selection=dg.AssetSelection.all_asset_checks())
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == {t.check_name for t in load_thresholds()}
    assert all(e.passed for e in evaluations.values()), {n: e.description for n, e in evaluations.items()}
    # the values are the marts' latest day
    revenue = evaluations["threshold_daily_revenue_min_1"].metadata["value"].value
    latest = query(built.state, """
        SELECT sum(revenue)::DOUBLE AS r FROM marts.fct_daily_revenue
        WHERE date_day = (SELECT max(date_day) FROM marts.fct_daily_revenue)
    """)["r"][0]
    assert revenue == latest


def test_unmet_threshold_fails_its_check(built):
    strict = Threshold("daily_orders", ">=", 1e9, "log", "all", "WARN", "impossible")
    per_channel = Threshold("session_conversion_rate", "<", 0.0, "webhook", "email", "ERROR", "impossible")
    checks = build_threshold_checks([strict, per_channel])
    result = dg.materialize([checks], resources=resources(built.state), selection=dg.AssetSelection.all_asset_checks())
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not evaluations[strict.check_name].passed
    assert evaluations[strict.check_name].severity == dg.AssetCheckSeverity.WARN
    assert evaluations[strict.check_name].asset_key == dg.AssetKey(["fct_daily_revenue"])
    assert not evaluations[per_channel.check_name].passed
    assert evaluations[per_channel.check_name].asset_key == dg.AssetKey(["funnel_daily"])
    assert evaluations[per_channel.check_name].metadata["marketing_channel"].value == "email"

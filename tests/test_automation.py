"""Every automation condition in the platform is evaluated by a sensor that runs by default.

Dagster's built-in default automation sensor starts switched off: an asset whose condition no
running sensor evaluates would never refresh on its own, however correct its condition.
"""

import dagster as dg

from analytics_platform.definitions import defs


def _automated_keys(graph) -> set:
    assets = {k for k in graph.materializable_asset_keys if graph.get(k).automation_condition is not None}
    checks = {k for k in graph.asset_check_keys if graph.get(k).automation_condition is not None}
    return assets | checks


def test_every_automation_condition_has_a_running_sensor():
    graph = defs.resolve_asset_graph()
    sensors = [s for s in defs.sensors if isinstance(s, dg.AutomationConditionSensorDefinition)]
    covered: dict = {}
    for sensor in sensors:
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING, sensor.name
        selection = sensor.asset_selection
        for key in selection.resolve(graph) | selection.resolve_checks(graph):
            assert key not in covered, f"{key} is targeted by {covered[key]} and {sensor.name}"
            covered[key] = sensor.name
    automated = _automated_keys(graph)
    assert automated, "the platform has automation conditions"
    missing = sorted(k.to_user_string() for k in automated - set(covered))
    assert not missing, f"automation conditions no running sensor evaluates: {missing}"
    # the ML layer and the reports are among them (they refresh after new marts)
    names = {k.to_user_string() for k in automated}
    assert {"churn_scores", "reports/business_overview", "metric_thresholds"} <= names


def test_a_first_model_is_trained_and_promoted_in_one_automation_run():
    """With the marts built and no model yet, automation requests the churn model together with
    its blocking champion/challenger check (which promotes it) and the scores that need a champion."""
    graph = defs.resolve_asset_graph()
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        for key in graph.materializable_asset_keys:
            if key.path[0] == "raw" or "dbt" in (graph.get(key).kinds or set()):
                instance.report_runless_asset_event(dg.AssetMaterialization(key))
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    requested = {r.key.to_user_string() for r in result.results if r.true_subset.size}
    assert {"customer_features", "churn_model", "churn_model:champion_challenger", "churn_scores"} <= requested

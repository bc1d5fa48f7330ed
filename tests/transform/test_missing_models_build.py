"""The dbt models' automation condition, evaluated by Dagster on a real instance: a model that is
missing over inputs that are there builds on the next tick, a failed build is not retried in a
loop, and upstream updates still trigger it (eager)."""

from __future__ import annotations

import dagster as dg

from analytics_platform.defs.transform.translator import automation_condition_for

MODEL_CONDITION = automation_condition_for({"resource_type": "model"})


def graph(model_fails: bool) -> list[dg.AssetsDefinition]:
    @dg.asset
    def upstream() -> None: ...

    @dg.asset(deps=[upstream], automation_condition=MODEL_CONDITION)
    def model() -> None:
        if model_fails:
            raise RuntimeError("the model's SQL is wrong")

    @dg.asset(deps=["never_built"], automation_condition=MODEL_CONDITION)
    def waits_for_its_input() -> None: ...

    return [upstream, model, waits_for_its_input, dg.AssetSpec("never_built")]


def requested(result: dg.EvaluateAutomationConditionsResult) -> set[str]:
    return {r.key.to_user_string() for r in result.results if isinstance(r.key, dg.AssetKey) and r.true_subset.size}


def test_a_missing_model_builds_once_and_a_failed_one_waits_for_new_data():
    assets = graph(model_fails=False)
    with dg.instance_for_test() as instance:
        dg.materialize([assets[0]], instance=instance)  # the data is already there
        # The model's first evaluation (as after a reload that added it): requested at once.
        first = dg.evaluate_automation_conditions(defs=assets, instance=instance)
        assert requested(first) == {"model"}

        # Its build fails: no retry on the next ticks...
        assert not dg.materialize(graph(model_fails=True), selection=["model"], instance=instance, raise_on_error=False).success
        second = dg.evaluate_automation_conditions(defs=assets, instance=instance, cursor=first.cursor)
        third = dg.evaluate_automation_conditions(defs=assets, instance=instance, cursor=second.cursor)
        assert requested(second) == requested(third) == set()

        # ...until new upstream data arrives (eager), and once built nothing is due.
        dg.materialize([assets[0]], instance=instance)
        fourth = dg.evaluate_automation_conditions(defs=assets, instance=instance, cursor=third.cursor)
        assert requested(fourth) == {"model"}
        dg.materialize(assets, selection=["model"], instance=instance)
        fifth = dg.evaluate_automation_conditions(defs=assets, instance=instance, cursor=fourth.cursor)
        assert requested(fifth) == set()

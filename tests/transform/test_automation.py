"""Eager automation: a new raw file marks exactly the models above it for materialization."""

from __future__ import annotations

import dagster as dg

from analytics_platform.defs.ingestion import definitions as ingestion
from analytics_platform.defs.quality import definitions as quality
from analytics_platform.defs.transform import definitions as transform
from analytics_platform.resources import WarehouseResource

from .support import build, ingest


def requested(result) -> set[str]:
    return {r.key.to_user_string() for r in result.results if isinstance(r.key, dg.AssetKey) and r.true_subset.size}


def test_new_raw_data_requests_downstream_marts_only(built, shop):
    defs = dg.Definitions.merge(
        ingestion.defs, transform.defs, quality.defs,
        dg.Definitions(resources={"warehouse": WarehouseResource(state_dir=str(built.state), landing_dir=str(shop.landing))}),
    )
    # Everything was just built by the session fixture: after a first evaluation (which sets the
    # cursor) nothing is due.
    settled = dg.evaluate_automation_conditions(defs=defs, instance=built.instance)
    idle = dg.evaluate_automation_conditions(defs=defs, instance=built.instance, cursor=settled.cursor)
    assert not requested(idle)

    # The held-back ad-spend file lands and is ingested (a real run on the same instance).
    ingest(built.state, shop.landing, built.held_back, built.instance)
    after = dg.evaluate_automation_conditions(defs=defs, instance=built.instance, cursor=idle.cursor)

    assert requested(after) == {"stg_marketing__ad_spend", "fct_daily_revenue"}
    # ...once: the next evaluation does not request them again while nothing changed
    again = dg.evaluate_automation_conditions(defs=defs, instance=built.instance, cursor=after.cursor)
    assert not requested(again)

    # The landing sensor's run loads a file and builds the models above it in the same run, so
    # between two evaluations both the raw table and its models change: seen from before the
    # load (cursor ``idle``), the models were updated after their inputs and nothing is due.
    build(built.state, built.instance, selection=sorted(requested(after)))
    combined = dg.evaluate_automation_conditions(defs=defs, instance=built.instance, cursor=idle.cursor)
    assert not requested(combined)

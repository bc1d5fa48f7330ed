"""One place for every convention that turns dbt nodes into Dagster assets.

- asset key = the model/seed/snapshot name (``fct_orders``); a source is the raw table the
  ingestion layer materializes, ``["raw", "<source>__<table>"]`` (its ``identifier``), so lineage
  runs from landing files to marts;
- group = the layer: a model's ``meta.layer`` (``dbt_project.yml`` sets it per folder, marts by
  default, a model may set its own; the layer is also its schema, ``generate_schema_name``),
  ``reference`` for seeds, ``snapshots`` for snapshots;
- owners from ``meta.owner`` (dbt_project.yml sets a default per layer);
- kinds dbt + duckdb + the materialization; description from the .yml (else the SQL);
- code references to the .sql/.yml file; code version = hash of the SQL;
- automation (see ``automation_condition_for``) and a freshness policy on the marts layer
  (``meta.dagster.freshness_hours``, default 26 h).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

RAW_PREFIX = "raw"
DEFAULT_OWNER = "team:analytics-engineering"
MART_FRESHNESS_HOURS = 26
MART_LAYER = "marts"  # the layer of a model whose folder sets none (dbt_project.yml)


def layer_of(props: Mapping[str, Any]) -> str | None:
    resource_type = props.get("resource_type")
    if resource_type == "seed":
        return "reference"
    if resource_type == "snapshot":
        return "snapshots"
    if resource_type == "model":
        return _meta(props).get("layer") or MART_LAYER
    return None


def _meta(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return {**(props.get("meta") or {}), **((props.get("config") or {}).get("meta") or {})}


class AnalyticsDbtTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_code_references=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([RAW_PREFIX, dbt_resource_props["identifier"]])
        return dg.AssetKey([dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return layer_of(dbt_resource_props)

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> Sequence[str] | None:
        owner = _meta(dbt_resource_props).get("owner") or DEFAULT_OWNER
        return [owner] if isinstance(owner, str) else list(owner)

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        description = (dbt_resource_props.get("description") or "").strip()
        return description or super().get_description(dbt_resource_props)

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        tags = dict(super().get_tags(dbt_resource_props))
        layer = layer_of(dbt_resource_props)
        if layer:
            tags["layer"] = layer
        materialized = (dbt_resource_props.get("config") or {}).get("materialized")
        if materialized:
            tags["dbt/materialized"] = materialized
        return tags

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition | None:
        return automation_condition_for(dbt_resource_props)

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec
        materialized = (props.get("config") or {}).get("materialized") or props["resource_type"]
        kind = {"incremental": "table", "snapshot": "table"}.get(materialized, materialized)
        spec = spec.replace_attributes(kinds={"dbt", "duckdb", kind})
        if layer_of(props) == MART_LAYER:
            hours = float((_meta(props).get("dagster") or {}).get("freshness_hours", MART_FRESHNESS_HOURS))
            spec = spec.replace_attributes(
                freshness_policy=dg.FreshnessPolicy.time_window(
                    fail_window=dt.timedelta(hours=hours), warn_window=dt.timedelta(hours=hours * 0.75)
                )
            )
        return spec


def missing_and_buildable() -> dg.AutomationCondition:
    """Missing, every input present and none being built, not failed last time, not in progress.

    True on every tick while it holds, not only when the asset *becomes* missing: a model added
    to the project over data that is already there builds on the first tick after the reload.
    (``eager()`` alone never builds it: its ``newly_missing`` fires on the asset's first
    evaluation, which ``since_last_handled`` also counts as handled.) A failed build is not
    retried in a loop; the next upstream update retries it (``eager()``)."""
    c = dg.AutomationCondition
    return (
        c.missing() & ~c.execution_failed() & ~c.any_deps_missing() & ~c.any_deps_in_progress() & ~c.in_progress()
    ).with_label("missing_and_buildable")


def automation_condition_for(props: Mapping[str, Any]) -> dg.AutomationCondition | None:
    """Models and the snapshot refresh as soon as their upstream data changed (eager): a raw load
    triggers staging and the marts above it in one run, never while a run of theirs is in
    progress; and they build while missing (:func:`missing_and_buildable`). Seeds when missing
    (unless their last build failed) or changed in code (their data lives in git). Not
    ``on_missing()``: it fires only when an asset *becomes* missing, never for one that was
    missing when the sensor first looked (a seed no model reads stayed unbuilt)."""
    resource_type = props.get("resource_type")
    if resource_type == "seed":
        missing = dg.AutomationCondition.missing() & ~dg.AutomationCondition.execution_failed()
        return (missing | dg.AutomationCondition.code_version_changed()) & ~dg.AutomationCondition.in_progress()
    if resource_type in ("model", "snapshot"):
        return dg.AutomationCondition.eager() | missing_and_buildable()
    return None

"""Conventions shared by the ML assets: group, owner, upstream keys, the input session."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dagster as dg
import duckdb

from analytics_platform.resources import WarehouseResource
from ml_assets.common import inputs

GROUP = "ml"
OWNERS = ["team:data-science"]

# Upstream assets (dbt models are keyed by model name; raw tables by ["raw", "<source>__<table>"]).
RAW_CUSTOMERS = dg.AssetKey(["raw", "shop__customers"])
RAW_ORDERS = dg.AssetKey(["raw", "shop__orders"])
FCT_SESSIONS = dg.AssetKey(["fct_sessions"])
FCT_ORDERS = dg.AssetKey(["fct_orders"])
FCT_DAILY_REVENUE = dg.AssetKey(["fct_daily_revenue"])
EXPERIMENT_OUTCOMES = dg.AssetKey(["experiment_outcomes"])


@contextlib.contextmanager
def lake_inputs(warehouse: WarehouseResource, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A warehouse session with the canonical ML input views registered (see ``inputs.py``)."""
    with warehouse.connect(read_only=read_only) as con:
        inputs.register_warehouse(con)
        yield con

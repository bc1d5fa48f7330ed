"""Shared mode: once every source has been loaded, the landing sensor requests one run per source
(their loads append to different tables side by side), tagged with the source so the run queue
keeps one source's batches in order; embedded, and for the first load, one run takes the batch."""

from __future__ import annotations

import os
import time

import dagster as dg
import pytest

from analytics_platform.definitions import defs
from analytics_platform.defs.ingestion.sensors import CONTRACTED, landing_sensor
from analytics_platform.resources import WarehouseResource, set_pool_limits, warehouse_pool
from analytics_platform.sample_data import generate, write_landing


def _requests(instance: dg.DagsterInstance, landing) -> list[dg.RunRequest]:
    with dg.build_sensor_context(instance=instance, resources={"warehouse": WarehouseResource(landing_dir=str(landing))},
                                 definitions=defs) as context:
        return landing_sensor(context).run_requests


def test_a_run_per_source_once_every_source_was_loaded(shared_env, tmp_path, monkeypatch: pytest.MonkeyPatch):
    write_landing(generate(seed=5, scale=0.01, days=2), tmp_path / "landing")
    for path in (tmp_path / "landing").rglob("*.*"):  # delivered a minute ago: settled (SETTLE_SECONDS)
        os.utime(path, (time.time() - 60, time.time() - 60))
    with dg.instance_for_test() as instance:
        (first,) = _requests(instance, tmp_path / "landing")  # a fresh warehouse: one run, every source
        assert first.tags["analytics/ingestion"] == "landing"
        for key in CONTRACTED:
            instance.report_runless_asset_event(dg.AssetMaterialization(key))
        requests = _requests(instance, tmp_path / "landing")
        assert set_pool_limits(instance) == {"warehouse_ingest": 4}
        assert instance.event_log_storage.get_concurrency_info("warehouse_ingest").slot_count == 4
    by_source = {r.tags["analytics/ingestion"]: r for r in requests}
    assert sorted(by_source) == ["experiments", "marketing", "shop", "web"]
    files = {s: r.run_config["ops"]["raw_tables"]["config"]["files"] for s, r in by_source.items()}
    assert all(f.startswith(f"{source}/") for source, batch in files.items() for f in batch)
    assert sorted(f for batch in files.values() for f in batch) == first.run_config["ops"]["raw_tables"]["config"]["files"]
    keys = {s: {k.to_user_string() for k in r.asset_selection} for s, r in by_source.items()}
    assert {"raw/shop__orders", "fct_orders"} <= keys["shop"] and "raw/web__events" not in keys["shop"]
    assert {"raw/web__events", "fct_sessions"} <= keys["web"] and "fct_orders" not in keys["web"]
    assert len({r.run_key for r in requests}) == 4
    assert warehouse_pool("ingest") == "warehouse_ingest"
    for key in ("ANALYTICS_CATALOG_URL", "ANALYTICS_DATA_URL"):  # embedded: one run, the pool everyone shares
        monkeypatch.delenv(key)
    with dg.instance_for_test() as instance:
        for key in CONTRACTED:
            instance.report_runless_asset_event(dg.AssetMaterialization(key))
        (one,) = _requests(instance, tmp_path / "landing")
    assert one.tags["analytics/ingestion"] == "landing" and warehouse_pool("ingest") == "warehouse"

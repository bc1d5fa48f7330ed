"""Resources shared by every asset, chosen once from the environment (see settings.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dagster as dg
import duckdb

from analytics_platform import warehouse, warehouse_lock
from analytics_platform.settings import Settings, load_settings

# The concurrency pool of the steps that write to the warehouse (ingestion, dbt, ML, threshold
# checks, maintenance, GDPR). Its limit, 1, is dagster.yaml's `concurrency.pools.default_limit`.
WAREHOUSE_POOL = "warehouse"


def warehouse_pool(concern: str) -> str:
    """The pool of one concern's warehouse steps (``dbt``, ``churn``, ...), from the warehouse mode.

    Embedded, every concern shares ``WAREHOUSE_POOL``: two commits on the SQLite catalog during
    each other's transaction fail, so one warehouse step runs at a time. Shared (PostgreSQL
    catalog), each concern has a pool of its own (``warehouse_dbt``, ...), also limited to 1: writers
    of different concerns run side by side (different tables: concurrent commits succeed), while
    two steps of one concern, which rebuild the same tables and would conflict, never run at once.
    Ingestion's pool (``warehouse_ingest``) holds one slot per source (``SHARED_POOL_LIMITS``): runs of
    different sources append to different tables side by side, while the run queue keeps one run
    per source (dagster.yaml). Maintenance and GDPR erasure keep ``WAREHOUSE_POOL`` in both modes
    (docs/architecture.md).
    """
    return f"{WAREHOUSE_POOL}_{concern}" if load_settings().shared is not None else WAREHOUSE_POOL


SHARED_POOL_LIMITS = {f"{WAREHOUSE_POOL}_ingest": 4}  # the four sources: shop, web, marketing, experiments


def set_pool_limits(instance: dg.DagsterInstance) -> dict[str, int]:
    """Pools whose limit is not dagster.yaml's ``default_limit``, set on the instance (shared mode
    only; the same as `dagster instance concurrency set <pool> <limit>`)."""
    limits = SHARED_POOL_LIMITS if load_settings().shared is not None else {}
    for pool, limit in limits.items():
        instance.event_log_storage.set_concurrency_slots(pool, limit)
    return limits


class WarehouseResource(dg.ConfigurableResource):
    """The DuckLake warehouse. Paths default to the project's settings; tests pass temp dirs."""

    warehouse_dir: str | None = None
    landing_dir: str | None = None
    state_dir: str | None = None
    datasets_dir: str | None = None

    @property
    def settings(self) -> Settings:
        import dataclasses
        from pathlib import Path

        base = load_settings()
        overrides = {}
        if self.state_dir:
            state = Path(self.state_dir)
            overrides.update(state_dir=state, warehouse_dir=state / "warehouse", quarantine_dir=state / "quarantine",
                             reports_dir=state / "reports", mlflow_dir=state / "mlflow")
        if self.warehouse_dir:
            overrides["warehouse_dir"] = Path(self.warehouse_dir)
        if self.landing_dir:
            overrides["landing_dir"] = Path(self.landing_dir)
        if self.datasets_dir:
            overrides["datasets_dir"] = Path(self.datasets_dir)
        return dataclasses.replace(base, **overrides)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Tag the run with this machine's name (once, when its first warehouse step starts).

        ``recovery`` closes a run whose process died only when it ran on this machine; with the
        instance in PostgreSQL (shared mode) other machines' runs are in it too, and a run worker
        started by `dagster dev` carries no tag of its own (``materialize`` sets it at launch).
        """
        from analytics_platform.recovery import HOST_TAG, process_tags

        run = context.dagster_run
        if context.instance is not None and run is not None and HOST_TAG not in run.tags:
            context.instance.add_run_tags(run.run_id, {HOST_TAG: process_tags()[HOST_TAG]})

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for a step; writing, the step holds the writer lock (shared: while an
        engineer's own dbt build runs it waits, saying so in the step's log)."""
        settings = self.settings
        if read_only:
            with warehouse.session(settings, read_only=True) as con:
                yield con
            return
        with warehouse_lock.platform_writer(settings, dg.get_dagster_logger().info), warehouse.session(settings) as con:
            yield con

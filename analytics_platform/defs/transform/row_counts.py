"""Row counts on the materializations of dbt tables (``dagster/row_count``), as raw assets have.

dagster-dbt's ``fetch_row_counts()`` counts through the in-process dbt adapter, which this
platform does not start (4.6 s per step, ``project.py``), and on DuckDB it holds every event back
until dbt exits. Here one read-only warehouse connection per step counts each table as its
materialization arrives (DuckLake takes readers beside dbt's writes). Views are not counted:
that would run their query.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import dagster as dg
import duckdb

from analytics_platform.resources import WarehouseResource

ROW_COUNT = "dagster/row_count"


def _node(event: Any, manifest: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if not isinstance(event, dg.Output | dg.AssetMaterialization):
        return None
    unique_id = event.metadata.get("unique_id")
    node = manifest["nodes"].get(getattr(unique_id, "value", unique_id)) or {}
    counted = node.get("relation_name") and node["config"].get("materialized") != "view"
    return node if counted else None


def with_row_counts(
    events: Iterable[Any], manifest: Mapping[str, Any], warehouse: WarehouseResource, log: Any
) -> Iterator[Any]:
    """``events`` of a dbt invocation, each table's materialization with its row count.

    The connection is opened in a thread while dbt starts (its imports and parse take seconds):
    opening it (DuckDB's extensions, the lake's catalog) cost the step ~1 s when the first table
    arrived."""
    counted, seconds = 0, 0.0
    with ExitStack() as stack, ThreadPoolExecutor(max_workers=1) as opener:
        def open_connection() -> duckdb.DuckDBPyConnection:
            return stack.enter_context(warehouse.connect(read_only=True))

        opening, con = opener.submit(open_connection), None
        for event in events:
            node = _node(event, manifest)
            if node is not None:
                started = time.monotonic()
                try:
                    if con is None:
                        try:
                            con = opening.result()
                        except duckdb.Error:  # e.g. no catalog yet when dbt started: try again next time
                            opening = opener.submit(open_connection)
                            raise
                    (rows,) = con.execute(f"SELECT count(*) FROM {node['relation_name']}").fetchone()  # type: ignore[misc]
                    event = event.with_metadata({**event.metadata, ROW_COUNT: dg.MetadataValue.int(rows)})
                    counted += 1
                except duckdb.Error as error:  # a count is worth no failed run
                    log.warning(f"no row count for {node['name']}: {error}")
                seconds += time.monotonic() - started
            yield event
    if counted:
        log.info(f"row counts of {counted} dbt tables in {seconds:.2f} s")

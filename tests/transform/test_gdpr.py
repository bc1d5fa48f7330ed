"""GDPR erasure: after the job, nothing about the customer is left in the warehouse or its files."""

from __future__ import annotations

from pathlib import Path

import duckdb

from analytics_platform.defs.transform.gdpr import gdpr_erase_customer

from .support import clone_state, query, resources


def _rows_about(state: Path, customer_id: int, orders: list[int], sessions: list[str]) -> dict[str, int]:
    """Rows mentioning the customer, their orders or sessions, in every table and view."""
    relations = query(state, """
        SELECT schema_name, table_name, list(column_name) AS columns FROM duckdb_columns()
        WHERE database_name = 'lake' AND column_name IN ('customer_id', 'order_id', 'session_id')
          AND NOT (schema_name = 'meta' AND table_name IN ('gdpr_erasures', 'gdpr_erased_ids'))  -- the records: ids only
        GROUP BY ALL
    """)
    found = {}
    for schema, table, columns in relations.iter_rows():
        conditions = []
        if "customer_id" in columns:
            conditions.append(f"customer_id = {customer_id}")
        if "order_id" in columns and orders:
            conditions.append(f"order_id IN ({', '.join(map(str, orders))})")
        if "session_id" in columns and sessions:
            conditions.append("session_id IN (" + ", ".join(f"'{s}'" for s in sessions) + ")")
        n = query(state, f'SELECT count(*) AS n FROM "{schema}"."{table}" WHERE {" OR ".join(conditions)}')["n"][0]
        if n:
            found[f"{schema}.{table}"] = n
    return found


def test_erasure_removes_the_customer_everywhere(built, tmp_path):
    state = clone_state(built.state, tmp_path / "state")
    customer_id = query(state, """
        SELECT o.customer_id FROM marts.fct_orders o JOIN marts.experiment_outcomes e USING (customer_id)
        WHERE NOT o.is_cancelled ORDER BY o.customer_id LIMIT 1
    """)["customer_id"][0]
    orders = query(state, f"SELECT order_id FROM raw.shop__orders WHERE customer_id = {customer_id}")["order_id"].to_list()
    sessions = query(state, f"SELECT session_id FROM raw.web__sessions WHERE customer_id = {customer_id}")["session_id"].to_list()
    revenue_before = query(state, "SELECT sum(revenue) AS r FROM marts.fct_daily_revenue")["r"][0]
    customer_revenue = query(state, f"SELECT sum(revenue) AS r FROM marts.fct_orders WHERE customer_id = {customer_id}")["r"][0]
    assert orders and sessions and customer_revenue > 0
    assert _rows_about(state, customer_id, orders, sessions)  # before: everywhere

    result = gdpr_erase_customer.execute_in_process(
        run_config={"ops": {"erase_customer_everywhere": {"config": {"customer_id": int(customer_id)}}}},
        resources=resources(state),
    )
    assert result.success
    deleted = result.output_for_node("erase_customer_everywhere")
    assert {"raw.shop__customers", "raw.shop__orders", "raw.shop__order_items", "raw.web__events",
            "snapshots.customers_snapshot", "marts.fct_orders", "marts.fct_sessions"} <= set(deleted)

    # no table or view (raw, staging, snapshots, intermediate, marts) has a row about them
    assert _rows_about(state, customer_id, orders, sessions) == {}
    # aggregates were rebuilt without them
    revenue_after = query(state, "SELECT sum(revenue) AS r FROM marts.fct_daily_revenue")["r"][0]
    assert revenue_after == revenue_before - customer_revenue
    # the erasure is recorded (the id only) for the ledger and re-deliveries
    erasures = query(state, f"SELECT sum(rows_deleted) AS n FROM meta.gdpr_erasures WHERE customer_id = {customer_id}")
    assert erasures["n"][0] == sum(deleted.values())
    # and so are the ids ingestion must not load again: the customer, their orders and sessions
    listed = query(state, f"SELECT id_column, id_value FROM meta.gdpr_erased_ids WHERE customer_id = {customer_id}")
    assert sorted(listed.iter_rows()) == sorted(
        [("customer_id", str(customer_id))] + [("order_id", str(o)) for o in set(orders)] + [("session_id", s) for s in set(sessions)]
    )
    # and no data file on disk holds them any more: older DuckLake versions were purged
    files = [str(p) for p in (state / "warehouse" / "data").rglob("*.parquet") if not {"gdpr_erasures", "gdpr_erased_ids"} & set(p.parts)]
    leftover = duckdb.connect().execute(
        f"SELECT count(*) FROM read_parquet({files!r}, union_by_name = true) WHERE customer_id = {customer_id}"
    ).fetchone()[0]
    assert leftover == 0

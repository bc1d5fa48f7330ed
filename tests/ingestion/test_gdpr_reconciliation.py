"""row_reconciliation after a GDPR erasure: rows the erasure deleted (and recorded in
``meta.gdpr_erasures``) are accounted for; rows gone without such a record still fail the check."""

from __future__ import annotations

import dagster as dg
import duckdb

from analytics_platform.defs.ingestion.assets import raw_tables
from analytics_platform.defs.ingestion.checks import raw_asset_key

HEADER = "customer_id,email,first_name,last_name,country_code,acquisition_channel,signed_up_at,updated_at"
ERASED, KEPT = 1, 2
TABLES = ("shop__customers", "shop__orders")


def _customer(i: int, updated: str = "2026-01-01 10:00:00") -> str:
    return f"{i},c{i}@example.com,Ann,Lee,DE,organic,2026-01-01 10:00:00,{updated}"


def _land(platform) -> None:
    customers = platform.landing / "shop/customers"
    customers.mkdir(parents=True)
    (customers / "day1.csv").write_text("\n".join([HEADER, _customer(ERASED), _customer(KEPT), _customer(3)]) + "\n")
    # The erased customer again, corrected a day later: erased rows in two files of one table.
    (customers / "day2.csv").write_text("\n".join([HEADER, _customer(ERASED, "2026-01-02 09:00:00"), _customer(4)]) + "\n")
    orders = platform.landing / "shop/orders"
    orders.mkdir(parents=True)
    duckdb.sql(
        "COPY (SELECT i::BIGINT AS order_id, (CASE WHEN i <= 2 THEN 1 ELSE 2 END)::BIGINT AS customer_id, 's' || i AS session_id, "
        "TIMESTAMP '2026-01-01 10:05:00' AS ordered_at, 'placed' AS status, 'organic' AS channel, 'DE' AS country_code, "
        "10.5::DECIMAL(12,2) AS order_total, TIMESTAMP '2026-01-01 10:05:00' AS updated_at FROM range(1, 6) t(i)) "
        f"TO '{orders / 'day1.parquet'}' (FORMAT parquet)"
    )


def _erase(platform, customer_id: int) -> dict[str, int]:
    """The real erasure job (its dbt rebuild left out: this warehouse has no marts)."""
    from analytics_platform.defs.transform.gdpr import gdpr_erase_customer
    from analytics_platform.defs.transform.project import dbt_resource

    result = gdpr_erase_customer.execute_in_process(
        run_config={"ops": {"erase_customer_everywhere": {"config": {"customer_id": customer_id, "rebuild_marts": False}}}},
        resources={"warehouse": platform.warehouse, "dbt": dbt_resource()},
    )
    assert result.success
    return result.output_for_node("erase_customer_everywhere")


def _reconciliation(platform) -> dict[str, dg.AssetCheckEvaluation]:
    """row_reconciliation of the raw tables, as a check-only Dagster run of the ingestion asset."""
    result = dg.materialize(
        [raw_tables],
        selection=dg.AssetSelection.checks(*(dg.AssetCheckKey(raw_asset_key(t), "row_reconciliation") for t in TABLES)),
        resources={"warehouse": platform.warehouse},
        run_config={"ops": {"raw_tables": {"config": {"settle_seconds": 0.0}}}},
        raise_on_error=False,  # the check is blocking: when it fails, so does the run
    )
    assert not result.get_asset_materialization_events(), "a check-only run loads nothing"
    return {e.asset_key.path[-1]: e for e in result.get_asset_check_evaluations()}


def test_erased_rows_are_accounted_for_and_unexplained_losses_still_fail(platform):
    _land(platform)
    loaded = platform.ingest()
    assert loaded.success
    assert all(e.passed for e in loaded.get_asset_check_evaluations() if e.check_name == "row_reconciliation")

    deleted = _erase(platform, ERASED)
    assert deleted == {"raw.shop__customers": 2, "raw.shop__orders": 2}
    assert platform.query("SELECT count(*) FROM raw.shop__customers WHERE customer_id = ?", [ERASED]) == [(0,)]
    assert sorted(platform.query("SELECT table_name, source_file, rows_deleted FROM meta.gdpr_erasures")) == [
        ("raw.shop__customers", "shop/customers/day1.csv", 1),
        ("raw.shop__customers", "shop/customers/day2.csv", 1),
        ("raw.shop__orders", "shop/orders/day1.parquet", 2),
    ]

    checks = _reconciliation(platform)
    assert set(checks) == set(TABLES)
    for table, check in checks.items():
        assert check.passed, f"{table}: {check.metadata['mismatched_files'].value}"
    assert checks["shop__customers"].metadata["rows_erased"].value == 2
    assert checks["shop__customers"].metadata["rows_loaded"].value == 3
    assert checks["shop__orders"].metadata["rows_erased"].value == 2

    # A row of a customer nobody erased disappears from a file that also had erased rows: the
    # erasure record must not cover it.
    with platform.warehouse.connect() as con:
        con.execute("DELETE FROM raw.shop__orders WHERE customer_id = ? AND order_id = 5", [KEPT])
    checks = _reconciliation(platform)
    assert checks["shop__customers"].passed
    orders = checks["shop__orders"]
    assert not orders.passed, "rows lost without an erasure record must fail the check"
    assert orders.metadata["mismatched_files"].value == [
        {"file": "shop/orders/day1.parquet", "rows_in_file": 5, "rows_suppressed": 0, "rows_erased": 2, "rows_loaded": 2}
    ]


def test_rows_missing_without_any_erasure_fail_the_check(platform):
    """No erasure ever ran (``meta.gdpr_erasures`` is empty): a lost row still fails."""
    _land(platform)
    assert platform.ingest().success
    with platform.warehouse.connect() as con:
        con.execute("DELETE FROM raw.shop__customers WHERE customer_id = 4")
    checks = _reconciliation(platform)
    assert checks["shop__orders"].passed
    customers = checks["shop__customers"]
    assert not customers.passed
    assert customers.metadata["mismatched_files"].value == [
        {"file": "shop/customers/day2.csv", "rows_in_file": 2, "rows_suppressed": 0, "rows_erased": 0, "rows_loaded": 1}
    ]


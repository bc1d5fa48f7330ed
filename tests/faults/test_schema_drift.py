"""Schema drift in real sample files, among good files of the same table (so the batched fast path
meets the drift first and must fall back file by file without losing the good neighbours)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.faults import invariants
from tests.faults.temp_platform import TempPlatform, copy_landing

EVENTS = "web/events"
ORDERS = "shop/orders"


def _land(platform, sample_landing: Path, folder: str, count: int = 4) -> list[str]:
    files = sorted(p.relative_to(sample_landing).as_posix() for p in (sample_landing / folder).iterdir())[:count]
    copy_landing(sample_landing, platform.landing, only=files)
    return files


def _rewrite_csv(path: Path, change) -> None:
    lines = path.read_text().splitlines()
    header, rows = lines[0].split(","), [line.split(",") for line in lines[1:]]
    header, rows = change(header, rows)
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")


def _rewrite_parquet(path: Path, select: str) -> None:
    tmp = path.with_suffix(".tmp")
    duckdb.sql(f"COPY (SELECT {select} FROM read_parquet('{path}')) TO '{tmp}' (FORMAT parquet)")
    tmp.replace(path)


def _checks(result) -> dict:
    return {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}


def _table_columns(platform, table: str) -> list[str]:
    return [r[0] for r in platform.query(f"DESCRIBE raw.{table}")]


def test_added_column_loads_and_is_flagged_as_warning(platform, sample_landing):
    files = _land(platform, sample_landing, EVENTS)
    _rewrite_csv(platform.landing / files[1], lambda h, rows: ([*h, "referrer"], [[*r, "https://ads.example"] for r in rows]))
    order_files = _land(platform, sample_landing, ORDERS, 3)
    _rewrite_parquet(platform.landing / order_files[0], "*, 'gold' AS loyalty_tier")

    result = platform.ingest()
    assert result.success
    assert invariants.quarantined(as_temp_platform(platform)) == {}
    ledger = invariants.ledger_files(as_temp_platform(platform))
    assert set(files) | set(order_files) <= set(ledger), "every file loads, drifted or not"
    checks = _checks(result)
    for table, column in (("web__events", "referrer"), ("shop__orders", "loyalty_tier")):
        check = checks[(table, "contract_conformity")]
        assert not check.passed and check.severity.value == "WARN", f"{table}: added column must be a WARN"
        assert check.metadata["added_columns"].value == [column]
        assert checks[(table, "row_reconciliation")].passed
    assert "referrer" not in _table_columns(platform, "web__events"), "an unknown column is not added to a contracted table"


def test_removed_required_column_is_quarantined(platform, sample_landing):
    files = _land(platform, sample_landing, EVENTS)
    _rewrite_csv(platform.landing / files[2], lambda h, rows: (h[:1] + h[2:], [r[:1] + r[2:] for r in rows]))  # no session_id
    order_files = _land(platform, sample_landing, ORDERS, 3)
    _rewrite_parquet(platform.landing / order_files[1], "* EXCLUDE (status)")

    result = platform.ingest()
    assert result.success, "a bad file never fails the run"
    q = invariants.quarantined(as_temp_platform(platform))
    assert q == {files[2]: "missing_required_column", order_files[1]: "missing_required_column"}
    ledger = invariants.ledger_files(as_temp_platform(platform))
    assert set(files) - {files[2]} <= set(ledger) and set(order_files) - {order_files[1]} <= set(ledger), "good neighbours load"
    checks = _checks(result)
    assert not checks[("web__events", "contract_conformity")].passed
    assert checks[("web__events", "contract_conformity")].severity.value == "ERROR"
    assert invariants.exactly_once_violations(as_temp_platform(platform)) == []


@pytest.mark.parametrize(
    "case",
    ["csv_text_in_bigint", "parquet_text_in_decimal", "parquet_timestamp_becomes_garbage"],
)
def test_type_change_is_quarantined(platform, sample_landing, case):
    if case.startswith("csv"):
        files = _land(platform, sample_landing, EVENTS)
        bad = files[1]

        def change(h, rows):
            i = h.index("product_id")
            return h, [[*r[:i], f"sku-{r[i] or 'x'}", *r[i + 1:]] for r in rows]

        _rewrite_csv(platform.landing / bad, change)
    else:
        files = _land(platform, sample_landing, ORDERS, 3)
        bad = files[1]
        select = ("* REPLACE ('EUR ' || order_total::VARCHAR AS order_total)" if case == "parquet_text_in_decimal"
                  else "* REPLACE ('yesterday' AS ordered_at)")
        _rewrite_parquet(platform.landing / bad, select)

    result = platform.ingest()
    assert result.success
    assert invariants.quarantined(as_temp_platform(platform)) == {bad: "type_cast_failed"}
    assert set(files) - {bad} <= set(invariants.ledger_files(as_temp_platform(platform)))
    assert invariants.exactly_once_violations(as_temp_platform(platform)) == []


@pytest.mark.parametrize("case", ["parquet_double_order_id", "csv_fractional_customer_id"])
def test_lossy_numeric_type_change_is_not_silently_rounded(platform, sample_landing, case):
    """An id arrives with fractions: casting to BIGINT would round 41.5 to 42 and merge two keys.
    A cast that loses information must be rejected like a failed one."""
    if case.startswith("parquet"):
        files = _land(platform, sample_landing, ORDERS, 3)
        bad = files[1]
        _rewrite_parquet(platform.landing / bad, "* REPLACE (order_id + 0.5 AS order_id)")
    else:
        files = _land(platform, sample_landing, EVENTS, 3)
        bad = files[1]

        def change(h, rows):
            i = h.index("product_id")
            return h, [[*r[:i], f"{r[i]}.5" if r[i] else r[i], *r[i + 1:]] for r in rows]

        _rewrite_csv(platform.landing / bad, change)
    result = platform.ingest()
    assert result.success
    loaded = invariants.ledger_files(as_temp_platform(platform)).get(bad)
    assert invariants.quarantined(as_temp_platform(platform)).get(bad) == "type_cast_failed", (
        f"{bad} with fractional ids was loaded ({loaded} rows, ids rounded) instead of quarantined")


def test_renamed_file_pattern_loads_as_uncontracted_and_is_flagged(platform, sample_landing):
    source = sorted((sample_landing / EVENTS).iterdir())[0]
    renamed = "web/events_v2/" + source.name  # the producer renamed its export folder
    (platform.landing / renamed).parent.mkdir(parents=True)
    (platform.landing / renamed).write_bytes(source.read_bytes())

    result = platform.ingest()
    assert result.success
    ledger = platform.query("SELECT source_file, target_table, contracted, rows_in_file FROM meta.ingest_ledger")
    assert ledger == [(renamed, 'uncontracted."web__events_v2"', False, len(source.read_text().splitlines()) - 1)]
    assert platform.query("SELECT count(*) FROM raw.web__events") == [(0,)], "nothing goes to the contracted table"
    assert [e.asset_key.to_user_string() for e in result.get_asset_materialization_events()] == ["raw/uncontracted"]
    try:
        from analytics_platform.defs.reports.profiles.datasets import list_datasets
    except ImportError:
        return
    with platform.warehouse.connect(read_only=True) as con:
        assert "web__events_v2" in list_datasets(con), "the new dataset is flagged for profiling"


def as_temp_platform(platform):
    """The shared ``platform`` fixture seen as a ``TempPlatform`` (what the invariants take)."""
    view = TempPlatform.__new__(TempPlatform)
    view.root, view.landing, view.state = platform.root, platform.landing, platform.root / "state"
    return view

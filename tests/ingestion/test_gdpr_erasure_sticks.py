"""An erasure sticks: files delivered after a customer was erased (new names, new content) do not
bring them back. Their rows, and rows of their orders and sessions (including orders and
sessions that first appear after the erasure), are left out of the load and counted per file;
everyone else's rows in the same files load, and row_reconciliation balances."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from analytics_platform.defs.ingestion.assets import raw_tables
from analytics_platform.defs.ingestion.checks import raw_asset_key
from analytics_platform.defs.ingestion.contracts import load_contracts
from analytics_platform.sample_data import generate, write_landing

from .test_gdpr_reconciliation import _erase

CONTRACTS = load_contracts()
EVENTS_HEADER = ["event_id", "session_id", "customer_id", "event_type", "product_id", "occurred_at"]
DAY = "2099-01-02"  # delivery day of the files that arrive after the erasure


@pytest.fixture
def shop(platform):
    """A small generated shop, ingested; ``platform`` reads its landing folder."""
    write_landing(generate(seed=11, scale=0.05, days=10), platform.landing)
    result = platform.ingest()
    assert result.success
    return platform


def _ids(platform, sql: str, params: list | None = None) -> list:
    return [r[0] for r in platform.query(sql, params)]


def _rows_about(platform, customer_id: int, orders: list[int], sessions: list[str]) -> dict[str, int]:
    """Rows in the raw tables about the customer, their orders or their sessions."""
    found = {}
    for c in CONTRACTS:
        conditions = []
        if "customer_id" in c.column_names:
            conditions.append(f"customer_id = {customer_id}")
        if "order_id" in c.column_names:
            conditions.append(f"order_id IN ({', '.join(map(str, orders))})")
        if "session_id" in c.column_names:
            conditions.append("session_id IN (" + ", ".join(f"'{s}'" for s in sessions) + ")")
        if conditions:
            (n,) = platform.query(f"SELECT count(*) FROM {c.qualified_table} WHERE {' OR '.join(conditions)}")[0]
            if n:
                found[c.name] = n
    return found


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in row] for row in rows])


def _write_parquet(path: Path, sql: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(f"COPY ({sql}) TO '{path}' (FORMAT parquet)")


def _write_ndjson(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _order(order_id: int, customer_id: int, session_id: str) -> str:
    return (f"SELECT {order_id}::BIGINT AS order_id, {customer_id}::BIGINT AS customer_id, '{session_id}' AS session_id, "
            f"TIMESTAMP '{DAY} 10:05:00' AS ordered_at, 'placed' AS status, 'organic' AS channel, 'DE' AS country_code, "
            f"21.00::DECIMAL(12,2) AS order_total, TIMESTAMP '{DAY} 10:05:00' AS updated_at")


def _item(item_id: int, order_id: int) -> str:
    return (f"SELECT {item_id}::BIGINT AS order_item_id, {order_id}::BIGINT AS order_id, 1::BIGINT AS product_id, "
            f"1::INTEGER AS quantity, 10.50::DECIMAL(10,2) AS unit_price, TIMESTAMP '{DAY} 10:05:00' AS updated_at")


def _session(session_id: str, customer_id: int | None) -> dict:
    return {"session_id": session_id, "customer_id": customer_id, "started_at": f"{DAY} 10:00:00",
            "channel": "organic", "device": "mobile", "country_code": "DE"}


def _check_only_reconciliation(platform) -> dict[str, dg.AssetCheckEvaluation]:
    """row_reconciliation of every raw table, as a check-only run of the ingestion asset."""
    result = dg.materialize(
        [raw_tables],
        selection=dg.AssetSelection.checks(*(dg.AssetCheckKey(raw_asset_key(c.name), "row_reconciliation") for c in CONTRACTS)),
        resources={"warehouse": platform.warehouse},
        run_config={"ops": {"raw_tables": {"config": {"settle_seconds": 0.0}}}},
        raise_on_error=False,
    )
    return {e.asset_key.path[-1]: e for e in result.get_asset_check_evaluations()}


def test_files_delivered_after_an_erasure_do_not_bring_the_customer_back(shop):
    platform = shop
    # The customer to erase has an order with lines and a payment, and sessions; a second one stays.
    erased, kept = _ids(platform, """
        SELECT DISTINCT o.customer_id FROM raw.shop__orders o
        WHERE o.order_id IN (SELECT order_id FROM raw.shop__order_items) AND o.order_id IN (SELECT order_id FROM raw.shop__payments)
          AND o.customer_id IN (SELECT customer_id FROM raw.web__sessions)
          AND o._source_file IN (SELECT _source_file FROM raw.shop__orders GROUP BY ALL HAVING count(DISTINCT customer_id) > 1)
        ORDER BY 1 LIMIT 2
    """)
    old_orders = _ids(platform, "SELECT DISTINCT order_id FROM raw.shop__orders WHERE customer_id = ? ORDER BY 1", [erased])
    old_sessions = _ids(platform, "SELECT session_id FROM raw.web__sessions WHERE customer_id = ? ORDER BY 1", [erased])
    orders_file = _ids(platform, """
        SELECT _source_file FROM raw.shop__orders GROUP BY ALL
        HAVING count(*) FILTER (WHERE customer_id = ?) > 0 AND count(DISTINCT customer_id) > 1 ORDER BY 1 LIMIT 1
    """, [erased])[0]
    top = {t: _ids(platform, f"SELECT max({k}) FROM raw.{t}")[0] for t, k in
           (("shop__customers", "customer_id"), ("shop__orders", "order_id"), ("shop__order_items", "order_item_id"), ("shop__payments", "payment_id"))}

    assert _erase(platform, erased)
    assert _rows_about(platform, erased, old_orders, old_sessions) == {}

    # Deliveries after the erasure: new file names, new content, the customer still in them.
    landing = platform.landing
    customer_files = [list(csv.reader(p.read_text().splitlines())) for p in sorted((landing / "shop/customers").glob("*.csv"))]
    their_row = [row for rows in customer_files for row in rows[1:] if row[0] == str(erased)][-1]
    _write_csv(landing / f"shop/customers/customers_{DAY}.csv", customer_files[0][0], [  # the next extract still has them
        their_row,
        [kept, f"c{kept}@example.com", "Kim", "Lee", "DE", "organic", "2026-01-01 10:00:00", f"{DAY} 09:00:00"],
        [top["shop__customers"] + 1, "new@example.com", "Nia", "Roe", "FR", "organic", f"{DAY} 09:00:00", f"{DAY} 09:00:00"],
    ])
    new_order, kept_order = top["shop__orders"] + 1, top["shop__orders"] + 2
    _write_parquet(landing / f"shop/orders/orders_{DAY}.parquet",
                   f"{_order(new_order, erased, 'x-new')} UNION ALL {_order(kept_order, kept, 'k-new')}")
    i = top["shop__order_items"]
    _write_parquet(landing / f"shop/order_items/order_items_{DAY}.parquet",
                   f"{_item(i + 1, new_order)} UNION ALL {_item(i + 2, new_order)} UNION ALL {_item(i + 3, kept_order)}")
    p = top["shop__payments"]
    _write_csv(landing / f"shop/payments/payments_{DAY}.csv", ["payment_id", "order_id", "payment_method", "amount", "paid_at"], [
        [p + 1, new_order, "card", "21.00", f"{DAY} 10:06:00"],
        [p + 2, kept_order, "card", "21.00", f"{DAY} 10:06:00"],
        [p + 3, old_orders[0], "card", "-21.00", f"{DAY} 11:00:00"],  # a refund of an order erased before
    ])
    # 'x-anon' is theirs only by its session row: its events are anonymous (before the login).
    _write_ndjson(landing / f"web/sessions/sessions_{DAY}.ndjson",
                  [_session("x-new", erased), _session("x-anon", erased), _session("k-new", kept), _session("anon", None)])
    events = [  # two files of one table: read together by the batch path
        [["e1", "x-new", erased, "view", 1, f"{DAY} 10:01:00"], ["e2", "x-anon", None, "view", 1, f"{DAY} 10:01:00"],
         ["e3", "k-new", kept, "view", 1, f"{DAY} 10:01:00"], ["e4", "anon", None, "view", 2, f"{DAY} 10:01:00"]],
        [["e5", old_sessions[0], None, "view", 1, f"{DAY} 10:02:00"], ["e6", "x-anon", None, "add_to_cart", 1, f"{DAY} 10:02:00"],
         ["e7", "k-new", kept, "checkout", None, f"{DAY} 10:02:00"],
         # a session only the click-stream knows: its logged-in event reveals it, its anonymous one goes too
         ["e8", "x-events", None, "view", 1, f"{DAY} 10:03:00"], ["e9", "x-events", erased, "view", 2, f"{DAY} 10:04:00"]],
    ]
    for n, rows in enumerate(events, start=2):
        _write_csv(landing / f"web/events/events_2099-01-0{n}.csv", EVENTS_HEADER, rows)
    _write_ndjson(landing / f"experiments/assignments/assignments_{DAY}.ndjson", [
        {"experiment_id": "exp_2099", "customer_id": c, "variant": "control", "assigned_at": f"{DAY} 10:00:00"} for c in (erased, kept)
    ])
    # A corrected re-delivery (same name, new content) of a file that held one of their orders.
    original = landing / orders_file
    corrected = original.with_name("corrected.tmp")
    _write_parquet(corrected, f"SELECT * REPLACE (CASE WHEN customer_id <> {erased} THEN updated_at + INTERVAL 1 HOUR ELSE updated_at END "
                              f"AS updated_at) FROM read_parquet('{original}')")
    in_corrected = duckdb.sql(f"SELECT count(*), count(*) FILTER (WHERE customer_id = {erased}) FROM read_parquet('{corrected}')").fetchone()
    corrected.replace(original)

    result = platform.ingest()
    assert result.success, "blocking checks (row_reconciliation) pass in the loading run"

    # Nothing about them came back, in any raw table.
    orders, sessions = [*old_orders, new_order], [*old_sessions, "x-new", "x-anon", "x-events"]
    assert _rows_about(platform, erased, orders, sessions) == {}
    # Everyone else's rows in the same files did load; each file counts as loaded, none quarantined.
    expected = {  # file → (rows loaded, rows suppressed)
        f"shop/customers/customers_{DAY}.csv": (2, 1),
        f"shop/orders/orders_{DAY}.parquet": (1, 1),
        f"shop/order_items/order_items_{DAY}.parquet": (1, 2),
        f"shop/payments/payments_{DAY}.csv": (1, 2),
        f"web/sessions/sessions_{DAY}.ndjson": (2, 2),
        "web/events/events_2099-01-02.csv": (2, 2),
        "web/events/events_2099-01-03.csv": (1, 4),
        f"experiments/assignments/assignments_{DAY}.ndjson": (1, 1),
        orders_file: (in_corrected[0] - in_corrected[1], in_corrected[1]),
    }
    ledger = {f: (loaded, suppressed) for f, loaded, suppressed in platform.query(
        "SELECT source_file, rows_loaded, rows_suppressed FROM meta.ingest_ledger WHERE status = 'loaded' AND run_id = ?", [result.run_id])}
    assert ledger == expected
    for contract in CONTRACTS:
        in_table = dict(platform.query(f"SELECT _source_file, count(*) FROM {contract.qualified_table} GROUP BY ALL"))
        for file, (loaded, _) in expected.items():
            if contract.matches(file):
                assert in_table.get(file, 0) == loaded, file
    assert platform.query(f"SELECT count(*) FROM raw.shop__customers WHERE customer_id IN ({kept}, {top['shop__customers'] + 1}) "
                          f"AND _source_file = 'shop/customers/customers_{DAY}.csv'") == [(2,)]
    assert platform.query("SELECT count(*) FROM meta.quarantine") == [(0,)]

    # The new order and sessions of the erased customer are listed (ids only), with the file that revealed them.
    assert sorted(platform.query("SELECT customer_id, id_column, id_value, source_file FROM meta.gdpr_erased_ids WHERE source_file IS NOT NULL")) == [
        (erased, "order_id", str(new_order), f"shop/orders/orders_{DAY}.parquet"),
        (erased, "session_id", "x-anon", f"web/sessions/sessions_{DAY}.ndjson"),
        (erased, "session_id", "x-events", "web/events/events_2099-01-03.csv"),
        (erased, "session_id", "x-new", f"shop/orders/orders_{DAY}.parquet"),  # orders load first
    ]

    # The raw assets' materializations show what was left out.
    shown = {m.asset_key.path[-1]: m.metadata for m in result.asset_materializations_for_node("raw_tables")}
    assert shown["web__events"]["rows_suppressed_gdpr"].value == 6
    assert shown["web__events"]["rows_loaded"].value == 3
    assert shown["shop__order_items"]["rows_suppressed_gdpr"].value == 2
    assert shown["shop__orders"]["erased_ids_learned"].value == 2
    assert "| suppressed (GDPR) |" in shown["shop__payments"]["files"].value

    # Reconciliation balances for every table: rows in file = loaded + suppressed + erased.
    checks = _check_only_reconciliation(platform)
    assert set(checks) == {c.name for c in CONTRACTS}
    for table, check in checks.items():
        assert check.passed, f"{table}: {check.metadata['mismatched_files'].value}"
    assert checks["web__events"].metadata["rows_suppressed"].value == 6
    assert checks["shop__orders"].metadata["rows_suppressed"].value == 1 + in_corrected[1]


def test_lines_loaded_before_their_order_revealed_it_are_erased_by_running_the_job_again(shop):
    """The one case a load cannot recognise: an order's lines arrive in a run before the order
    that names the erased customer. The order is left out and its id listed; running the
    erasure again removes the lines, and reconciliation still balances."""
    platform = shop
    (erased,) = _ids(platform, "SELECT min(customer_id) FROM raw.shop__orders")
    assert _erase(platform, erased)
    new_order = _ids(platform, "SELECT max(order_id) + 1 FROM raw.shop__orders")[0]
    item = _ids(platform, "SELECT max(order_item_id) + 1 FROM raw.shop__order_items")[0]

    _write_parquet(platform.landing / f"shop/order_items/order_items_{DAY}.parquet", _item(item, new_order))
    assert platform.ingest().success
    assert platform.query("SELECT count(*) FROM raw.shop__order_items WHERE order_id = ?", [new_order]) == [(1,)]

    _write_parquet(platform.landing / f"shop/orders/orders_{DAY}.parquet", _order(new_order, erased, "x-late"))
    assert platform.ingest().success
    assert platform.query("SELECT count(*) FROM raw.shop__orders WHERE order_id = ?", [new_order]) == [(0,)]
    assert platform.query("SELECT id_value FROM meta.gdpr_erased_ids WHERE id_column = 'order_id' AND source_file IS NOT NULL") == [(str(new_order),)]

    assert _erase(platform, erased) == {"raw.shop__order_items": 1}
    assert platform.query("SELECT count(*) FROM raw.shop__order_items WHERE order_id = ?", [new_order]) == [(0,)]
    checks = _check_only_reconciliation(platform)
    assert all(check.passed for check in checks.values())


def test_nothing_is_suppressed_when_nobody_was_erased(platform):
    write_landing(generate(seed=11, scale=0.05, days=3), platform.landing)
    assert platform.ingest().success
    assert platform.query("SELECT count(*) FROM meta.gdpr_erased_ids") == [(0,)]
    assert platform.query("SELECT sum(rows_suppressed), bool_and(rows_loaded = rows_in_file) FROM meta.ingest_ledger") == [(0, True)]


def test_a_ledger_from_before_suppression_gets_the_column(platform):
    """Warehouses whose ledger predates ``rows_suppressed`` get it (0 for the files they hold)."""
    customers = platform.landing / "shop/customers"
    header = ["customer_id", "email", "first_name", "last_name", "country_code", "acquisition_channel", "signed_up_at", "updated_at"]
    _write_csv(customers / "day1.csv", header, [[1, "a@example.com", "Ann", "Lee", "DE", "organic", f"{DAY} 09:00:00", f"{DAY} 09:00:00"]])
    assert platform.ingest().success
    with platform.warehouse.connect() as con:
        con.execute("ALTER TABLE meta.ingest_ledger DROP COLUMN rows_suppressed")
    _write_csv(customers / "day2.csv", header, [[2, "b@example.com", "Bo", "Lee", "DE", "organic", f"{DAY} 09:00:00", f"{DAY} 09:00:00"]])
    result = platform.ingest()
    assert result.success
    assert sorted(platform.query("SELECT source_file, rows_loaded, rows_suppressed FROM meta.ingest_ledger")) == [
        ("shop/customers/day1.csv", 1, 0), ("shop/customers/day2.csv", 1, 0)
    ]
    assert all(e.passed for e in result.get_asset_check_evaluations() if e.check_name == "row_reconciliation")

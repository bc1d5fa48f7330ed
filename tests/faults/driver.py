"""Child processes for the fault tests: an ingestion run and a warehouse reader.

Run as ``python -m tests.faults.driver ingest|reader ...`` with ANALYTICS_* variables pointing at a
temp platform. Kept tiny and free of pytest so a test can kill it at any instant (kill -9).

    ingest  one ``dg.materialize`` of ``raw_tables`` (what the landing sensor's run does); prints
            ``STARTED`` when imports are done, then a JSON summary line; exit 0 iff the run succeeded.
    dbt     one ``dg.materialize`` of the dbt assets (``dbt build`` in a child process).
    reader  polls a read-only DuckLake connection until the stop file appears; each poll checks,
            inside one snapshot, that every raw table holds exactly the rows its ledger entries
            announce. Writes a JSON report.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path


def _ingest(args: argparse.Namespace) -> int:
    import dagster as dg

    from analytics_platform.defs.ingestion.assets import raw_tables
    from analytics_platform.resources import WarehouseResource

    files = json.loads(Path(args.files_from).read_text()) if args.files_from else []
    warehouse = WarehouseResource(state_dir=args.state, landing_dir=args.landing)
    config = {"settle_seconds": 0.0, **({"files": files} if files else {})}
    selection = None
    if args.tables:
        from analytics_platform.defs.ingestion.checks import raw_asset_key

        selection = [raw_asset_key(t) for t in args.tables.split(",")]
    print("STARTED", flush=True)
    started = time.perf_counter()
    result = dg.materialize(
        [raw_tables],
        resources={"warehouse": warehouse},
        run_config={"ops": {"raw_tables": {"config": config}}},
        selection=selection,
        raise_on_error=False,
    )
    failures = [
        str(e.event_specific_data.error.to_string() if e.event_specific_data and e.event_specific_data.error else e.message)
        for e in result.all_events
        if e.event_type_value == "STEP_FAILURE"
    ]
    summary = {
        "success": result.success,
        "seconds": time.perf_counter() - started,
        "materialized": sorted(e.asset_key.to_user_string() for e in result.get_asset_materialization_events()),
        "checks": [
            {"asset": e.asset_key.to_user_string(), "check": e.check_name, "passed": e.passed,
             "severity": e.severity.value, "metadata": {k: getattr(v, "value", str(v)) for k, v in e.metadata.items()}}
            for e in result.get_asset_check_evaluations()
        ],
        "failures": failures,
    }
    print("SUMMARY " + json.dumps(summary, default=str), flush=True)
    return 0 if result.success else 1


def _dbt(args: argparse.Namespace) -> int:
    """Materialize every dbt asset through Dagster (the production path: run worker + dbt child)."""
    import dagster as dg

    from analytics_platform.defs.transform.assets import dbt_models
    from analytics_platform.defs.transform.project import dbt_resource
    from analytics_platform.resources import WarehouseResource

    print("STARTED", flush=True)
    started = time.perf_counter()
    config = {"full_refresh": True} if args.full_refresh else {}
    result = dg.materialize(
        [dbt_models],
        resources={"dbt": dbt_resource(), "warehouse": WarehouseResource(state_dir=args.state)},
        run_config={"ops": {dbt_models.op.name: {"config": config}}},
        raise_on_error=False,
    )
    failures = [str(e.message) for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    print("SUMMARY " + json.dumps({"success": result.success, "seconds": time.perf_counter() - started,
                                   "materialized": len(result.get_asset_materialization_events()), "failures": failures}), flush=True)
    return 0 if result.success else 1


def _reader(args: argparse.Namespace) -> int:
    import duckdb

    from analytics_platform import warehouse
    from analytics_platform.defs.ingestion.contracts import load_contracts
    from analytics_platform.settings import load_settings

    contracts = load_contracts()
    stop = Path(args.stop_file)
    report: dict = {"polls": 0, "errors": [], "inconsistent": [], "non_monotonic": [], "counts_seen": {}, "marts_seen": {}}
    last: dict[str, int] = {}
    settings = load_settings()
    while not settings.catalog_path.exists() and not stop.exists():
        time.sleep(0.05)
    con = warehouse.connect(settings, read_only=True)
    marts: list[str] = args.marts.split(",") if args.marts else []
    try:
        while not stop.exists():
            try:
                # One explicit transaction = one DuckLake snapshot for all the statements below.
                con.execute("BEGIN TRANSACTION")
                tables = {r[0] for r in con.execute(
                    "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}
                if "meta.ingest_ledger" in tables:
                    ledger = dict(con.execute(
                        "SELECT target_table, sum(rows_in_file)::BIGINT FROM meta.ingest_ledger WHERE status = 'loaded' GROUP BY ALL"
                    ).fetchall())
                    for c in contracts:
                        if f"raw.{c.name}" not in tables:
                            continue
                        n = con.execute(f"SELECT count(*) FROM {c.qualified_table}").fetchone()[0]
                        expected = int(ledger.get(c.qualified_table, 0) or 0)
                        if n != expected:
                            report["inconsistent"].append({"table": c.name, "rows": n, "ledger_rows": expected, "poll": report["polls"]})
                        if n < last.get(c.name, 0):
                            report["non_monotonic"].append({"table": c.name, "rows": n, "before": last[c.name]})
                        last[c.name] = n
                        report["counts_seen"].setdefault(c.name, set()).add(n)
                for mart in marts:
                    # A mart that existed once must stay queryable (dbt swaps tables in place).
                    if mart in tables:
                        n = con.execute(f"SELECT count(*) FROM {mart}").fetchone()[0]
                        report["marts_seen"].setdefault(mart, set()).add(n)
                    elif mart in report["marts_seen"]:
                        report["inconsistent"].append({"table": mart, "missing_after_seen": True, "poll": report["polls"]})
                con.execute("COMMIT")
            except duckdb.Error as error:
                report["errors"].append(str(error).splitlines()[0][:300])
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:
                    pass
            report["polls"] += 1
            time.sleep(args.interval)
    except Exception:  # noqa: BLE001 - reported to the test, which fails on it
        report["errors"].append(traceback.format_exc()[-2000:])
    finally:
        con.close()
    report["counts_seen"] = {k: sorted(v) for k, v in report["counts_seen"].items()}
    report["marts_seen"] = {k: sorted(v) for k, v in report["marts_seen"].items()}
    Path(args.out).write_text(json.dumps(report))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    ing = sub.add_parser("ingest")
    ing.add_argument("--state", required=True)
    ing.add_argument("--landing", required=True)
    ing.add_argument("--files-from", help="JSON list of landing-relative paths to load (default: all)")
    ing.add_argument("--tables", help="comma-separated raw asset names to select (default: all)")
    dbt = sub.add_parser("dbt")
    dbt.add_argument("--state", required=True)
    dbt.add_argument("--full-refresh", action="store_true")
    rd = sub.add_parser("reader")
    rd.add_argument("--stop-file", required=True)
    rd.add_argument("--out", required=True)
    rd.add_argument("--interval", type=float, default=0.05)
    rd.add_argument("--marts", default="", help="comma-separated schema.table names that must never vanish once seen")
    args = parser.parse_args(argv)
    return {"ingest": _ingest, "dbt": _dbt, "reader": _reader}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())

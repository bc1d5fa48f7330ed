"""Landing files → raw tables through the platform (``dg.materialize([raw_tables])``), with the
breakdown of the step's time over the loader's functions (``breakdown.py``)."""

from __future__ import annotations

import time

from bench.worker.breakdown import Breakdown
from bench.worker.records import step_seconds

LEDGER_TOTALS = "SELECT coalesce(sum(rows_in_file), 0)::BIGINT, count(*) FROM meta.ingest_ledger WHERE status = 'loaded'"
ROWS_PER_TABLE = "SELECT target_table, sum(rows_in_file)::BIGINT FROM meta.ingest_ledger WHERE status = 'loaded' GROUP BY ALL"


def measure(args: dict) -> dict:
    import dagster as dg

    from analytics_platform.defs.ingestion.assets import raw_tables
    from analytics_platform.resources import WarehouseResource

    breakdown = Breakdown()
    if args.get("instrument", True):
        breakdown.install()
    warehouse = WarehouseResource(state_dir=args["state"], landing_dir=args["landing"])
    started = time.perf_counter()
    result = dg.materialize(
        [raw_tables], resources={"warehouse": warehouse},
        run_config={"ops": {"raw_tables": {"config": {"settle_seconds": 0.0}}}}, raise_on_error=False,
    )
    seconds = time.perf_counter() - started
    # Taken before the read-only connection below, which would otherwise count as step time.
    phases, calls = breakdown.phases(), dict(breakdown.calls)
    with warehouse.connect(read_only=True) as con:
        rows, files = con.execute(LEDGER_TOTALS).fetchone()
        quarantined = con.execute("SELECT count(*) FROM meta.quarantine").fetchone()[0]
        per_table = dict(con.execute(ROWS_PER_TABLE).fetchall())
    return {
        "ok": result.success, "seconds": seconds, "step_seconds": step_seconds(result).get("raw_tables"), "rows": rows,
        "files": files, "quarantined": quarantined, "rows_per_table": per_table, "phases": phases, "phase_calls": calls,
    }

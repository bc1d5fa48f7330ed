"""Right to erasure: remove one customer from every table of the warehouse, history included.

The ``gdpr_erase_customer`` job (config: ``customer_id``)

1. finds the customer's orders and sessions (rows about them may lack ``customer_id``, e.g.
   order lines and payments): in every table that has ``customer_id`` and the id, plus the ids
   an earlier erasure or ingestion already listed for them in ``meta.gdpr_erased_ids``;
2. in one DuckLake transaction deletes, from every base table outside ``meta`` and ``reference``
   (raw tables, the SCD2 snapshot, incremental facts, marts), the rows whose ``customer_id`` is
   the customer or whose ``order_id`` / ``session_id`` is one of theirs, records per table and
   landing file how many rows went in ``meta.gdpr_erasures``, and lists the customer, their
   orders and sessions in ``meta.gdpr_erased_ids`` (no personal data: ids only);
3. rewrites the Parquet files that held the rows, expires older DuckLake snapshots and deletes
   the files they referenced: the data is gone from disk, not only from the current version
   (this also ends time travel to before the erasure);
4. rebuilds the dbt tables (aggregates like ``fct_daily_revenue`` no longer count the customer);
   staging views read the raw tables and need nothing.

The erasure sticks. Files already loaded are never loaded again (the ledger keeps their hashes),
and ingestion does not load rows about an erased customer from files delivered later either: the
next full customer extract, a corrected file, a new order with its lines and payments, new
sessions and events. It leaves them out of the insert, counts them per file in the ledger
(``rows_suppressed``) and lists a new order or session of the customer as erased
(``defs/ingestion/erasure_filter.py``). Running the job again for the same customer is safe and
deletes rows keyed by such a listed id that were loaded before the id was known (an order line
whose order arrived in a later run).

Landing files and quarantined copies are outside the warehouse: the source system's deletion
must cover them.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource
from pydantic import Field

from analytics_platform.defs.ingestion.erasure_filter import list_erased_ids
from analytics_platform.defs.ingestion.ledger import ERASURES_DDL
from analytics_platform.defs.transform.project import dbt_environment, run_target_path
from analytics_platform.resources import WAREHOUSE_POOL, WarehouseResource
from analytics_platform.warehouse import LAKE, quote_ident, transaction

SKIPPED_SCHEMAS = ("meta", "reference", "information_schema", "pg_catalog")


class EraseCustomerConfig(dg.Config):
    customer_id: int = Field(description="The customer to erase everywhere.")
    rebuild_marts: bool = Field(default=True, description="Rebuild the dbt tables afterwards.")


def erasable_tables(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], set[str]]:
    """(schema, table) → its key columns among customer_id/order_id/session_id, for base tables."""
    rows = con.execute(
        """
        SELECT c.schema_name, c.table_name, c.column_name
        FROM duckdb_columns() c
        JOIN duckdb_tables() t USING (database_name, schema_name, table_name)
        WHERE c.database_name = ? AND c.column_name IN ('customer_id', 'order_id', 'session_id')
        """,
        [LAKE],
    ).fetchall()
    tables: dict[tuple[str, str], set[str]] = {}
    for schema, table, column in rows:
        if schema not in SKIPPED_SCHEMAS and not schema.startswith("dbt_"):
            tables.setdefault((schema, table), set()).add(column)
    return tables


def _predicate(columns: set[str]) -> str:
    parts = []
    if "customer_id" in columns:
        parts.append("customer_id = $customer_id")
    if "order_id" in columns:
        parts.append("order_id IN (SELECT order_id FROM _erase_orders)")
    if "session_id" in columns:
        parts.append("session_id IN (SELECT session_id FROM _erase_sessions)")
    return " OR ".join(parts)


def erase_customer(con: duckdb.DuckDBPyConnection, customer_id: int, run_id: str = "") -> dict[str, int]:
    """Delete the customer's rows everywhere (one transaction); returns rows deleted per table."""
    tables = erasable_tables(con)
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute(ERASURES_DDL)
    # Ids of the customer's orders and sessions, from every table that links them to the customer,
    # and those listed before (ingestion lists a new order of an erased customer it left out).
    for kind in ("order", "session"):
        column = f"{kind}_id"
        sources = [
            f"SELECT {column} FROM {quote_ident(s)}.{quote_ident(t)} WHERE customer_id = $customer_id AND {column} IS NOT NULL"
            for (s, t), cols in tables.items()
            if {column, "customer_id"} <= cols
        ] or [f"SELECT NULL::VARCHAR AS {column} WHERE false"]
        con.execute(f"CREATE OR REPLACE TEMP TABLE _erase_{kind}s AS " + " UNION ".join(sources), {"customer_id": customer_id})
        con.execute(  # the insert casts the listed text to the column's type
            f"INSERT INTO _erase_{kind}s SELECT id_value FROM meta.gdpr_erased_ids "
            f"WHERE customer_id = $customer_id AND id_column = '{column}' EXCEPT SELECT {column}::VARCHAR FROM _erase_{kind}s",
            {"customer_id": customer_id},
        )

    now = datetime.now(UTC).replace(tzinfo=None)

    def body(c: duckdb.DuckDBPyConnection) -> dict[str, int]:
        deleted: dict[str, int] = {}
        records: list[list[Any]] = []
        for (schema, table), columns in sorted(tables.items()):
            name = f"{quote_ident(schema)}.{quote_ident(table)}"
            where = _predicate(columns)
            params = {"customer_id": customer_id} if "customer_id" in columns else {}
            lineage = {r[0] for r in c.execute(f"DESCRIBE {name}").fetchall()} >= {"_source_file", "_file_hash"}
            by_file = (
                c.execute(f"SELECT _source_file, _file_hash, count(*) FROM {name} WHERE {where} GROUP BY ALL", params).fetchall()
                if lineage
                else [(None, None, c.execute(f"SELECT count(*) FROM {name} WHERE {where}", params).fetchone()[0])]  # type: ignore[index]
            )
            total = sum(n for *_, n in by_file)
            if not total:
                continue
            c.execute(f"DELETE FROM {name} WHERE {where}", params)
            records += [[customer_id, f"{schema}.{table}", f, h, n, run_id, now] for f, h, n in by_file]
            deleted[f"{schema}.{table}"] = total
        if records:  # one INSERT, one data file
            c.execute(
                "INSERT INTO meta.gdpr_erasures VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(records)),
                [value for record in records for value in record],
            )
        # What ingestion must not load again: the customer (even with nothing to delete), their
        # orders and sessions. Ids only; each once.
        list_erased_ids(c, """
            SELECT $customer_id AS customer_id, 'customer_id' AS id_column, $customer_id::VARCHAR AS id_value,
                   NULL::VARCHAR AS source_file
            UNION ALL SELECT $customer_id, 'order_id', order_id::VARCHAR, NULL FROM _erase_orders WHERE order_id IS NOT NULL
            UNION ALL SELECT $customer_id, 'session_id', session_id::VARCHAR, NULL FROM _erase_sessions WHERE session_id IS NOT NULL
        """, {"customer_id": customer_id}, run_id, now)
        return deleted

    return transaction(con, body)


def purge_history(con: duckdb.DuckDBPyConnection) -> None:
    """Make deletions physical: rewrite files with deleted rows, drop older snapshots and files."""
    con.execute(f"CALL ducklake_rewrite_data_files('{LAKE}', delete_threshold => 0)")
    con.execute(f"CALL ducklake_expire_snapshots('{LAKE}', older_than => now())")
    con.execute(f"CALL ducklake_cleanup_old_files('{LAKE}', cleanup_all => true)")


def _asset_key_for(table: str) -> dg.AssetKey:
    schema, name = table.split(".", 1)
    return dg.AssetKey([schema, name]) if schema == "raw" else dg.AssetKey([name])


@dg.op(pool=WAREHOUSE_POOL, description="Delete one customer from every warehouse table, purge old file versions, rebuild dbt tables.")
def erase_customer_everywhere(
    context: dg.OpExecutionContext, config: EraseCustomerConfig, warehouse: WarehouseResource, dbt: DbtCliResource
) -> Iterator[Any]:
    with warehouse.connect() as con:
        deleted = erase_customer(con, config.customer_id, context.run_id)
        purge_history(con)
    context.log.info(f"erased customer {config.customer_id}: {deleted}")
    for table, rows in deleted.items():
        yield dg.AssetMaterialization(
            asset_key=_asset_key_for(table),
            description=f"GDPR erasure of customer {config.customer_id}",
            metadata={"rows_deleted": rows},
        )
    if config.rebuild_marts:
        # Tables only: incremental facts and the snapshot were erased row by row above.
        settings = warehouse.settings
        with dbt_environment(settings):
            invocation = dbt.cli(
                ["run", "--select", "config.materialized:table"],
                target_path=run_target_path(settings, f"gdpr-{context.run_id[:8]}"),
                raise_on_error=True,
            )
        invocation.wait()
        for result in invocation.get_artifact("run_results.json")["results"]:
            yield dg.AssetMaterialization(
                asset_key=dg.AssetKey([result["unique_id"].split(".")[-1]]),
                description=f"Rebuilt after the GDPR erasure of customer {config.customer_id}",
            )
    yield dg.Output(deleted)


@dg.job(
    description="Erase one customer everywhere (GDPR art. 17). "
    "Config: ops.erase_customer_everywhere.config.customer_id.",
    tags={"analytics/gdpr": "erasure"},
)
def gdpr_erase_customer() -> None:
    erase_customer_everywhere()
